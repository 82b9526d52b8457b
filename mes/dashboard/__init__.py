"""The owner's figures: on-time delivery, output against plan, WIP, scrap Pareto, OEE trend,
lead time, top downtime, and the order delivery efficiency report (docs/dashboard.md)."""
