"""Analytics: revenue, payment performance, customers, subscriptions and forecasts, aggregated in the database."""
