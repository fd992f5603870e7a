"""Products, price lists, quotes with versions and discount approval (design.md §3 sales/)."""
