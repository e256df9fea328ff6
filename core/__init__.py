"""The domain every stage stands on: customers, conversations, posts, teams, agent profiles,
the database helpers and the broadcast primitives. It imports no other Parley app but
reliability."""
