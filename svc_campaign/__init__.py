"""Campaign service: campaigns, schedules, budgets and their lifecycle."""
