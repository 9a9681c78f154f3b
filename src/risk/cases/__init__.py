"""Case management (案件管理): agreements followed up, legal cases in order, and the recovery book.

What happens to a case after the daily plan chose an action: the agreement it led to is executed and
monitored (``agreements``), the legal team's cases move through their steps in order (``legal``), and
charged-off loans are worked in the recovery book (``recovery``). Pure functions of the validated tables
and the day's scored loans; the score stage writes their tables beside the queues.
"""
