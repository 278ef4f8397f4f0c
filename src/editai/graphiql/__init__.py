"""The GraphiQL IDE on GET /graphql, served with every file it loads (issue 9)."""
