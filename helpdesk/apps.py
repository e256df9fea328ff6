from django.apps import AppConfig


class HelpdeskConfig(AppConfig):
    """What agents use: the inbox, the conversation page, the API and their sockets."""

    name = "helpdesk"
    verbose_name = "Helpdesk"

    def ready(self) -> None:
        from core.realtime import register_card_reader

        from . import socket_access
        from .selectors import conversation_cards

        # The stages broadcast conversations as the inbox shows them.
        register_card_reader(conversation_cards)
        socket_access.connect()
