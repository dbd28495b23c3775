"""Predictive models: customer-base CLV models, churn and repurchase scores, predictive tags."""
