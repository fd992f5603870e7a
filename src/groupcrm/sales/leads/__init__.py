"""线索: capture, assignment rules and territories, qualification, conversion; referrals of leads
and opportunities between units (design.md §3 sales/).
"""
