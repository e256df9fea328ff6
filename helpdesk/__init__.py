"""What agents use: the inbox, the conversation page, their actions, the API and sockets."""
