"""Contracts from won opportunities, payment plans, payments, receivables; sales expenses
(design.md §3 sales/).
"""
