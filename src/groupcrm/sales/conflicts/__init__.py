"""撞单: engagement detection at entry, coordination, the arbitration queue (design.md §3
sales/).
"""
