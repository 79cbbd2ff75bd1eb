"""Payments: WeChat Pay transactions and refunds for orders, cases for review,
reconciliation against the trade bill."""
