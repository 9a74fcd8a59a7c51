"""The order fulfillment saga as a Faust app: app, topics, tables, agents."""
