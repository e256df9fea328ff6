"""The REST API: the same conversations, with the same permissions, as the inbox."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Prefetch, Q
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import mixins, status, viewsets
from rest_framework import serializers as drf_serializers
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response

from core import selectors as visibility
from core.models import Conversation, Customer, Direction, Post, ReplyTemplate, Team
from core.reply_templates import render_reply_template
from helpdesk import customers, selectors, services, social
from helpdesk.filters import ConversationFilter
from routing.services import assign_conversation, move_to_team
from sla.models import SlaTimer
from sla.selectors import timers_of

from . import serializers


class NewestFirst(CursorPagination):
    """Newest first, by id. A cursor that does not decode to an id position (tampered, or
    from another ordering) is a 400, not a database error on the bad value."""

    ordering = "-id"
    invalid_cursor_message = "Invalid cursor: use the next or previous link of a page."

    def decode_cursor(self, request):
        try:
            cursor = super().decode_cursor(request)
        except NotFound as error:
            raise ValidationError({"cursor": [self.invalid_cursor_message]}) from error
        if cursor is not None and cursor.position is not None:
            try:
                int(cursor.position)
            except ValueError as error:
                raise ValidationError({"cursor": [self.invalid_cursor_message]}) from error
        return cursor


def _as_api_error(error: DjangoValidationError) -> ValidationError:
    return ValidationError({"detail": error.messages})


CONFLICT = OpenApiResponse(description="Someone changed the conversation meanwhile.")
NOT_ASSIGNABLE = "No agent of this conversation's team has that username."
STALE_ASSIGNEE = "Someone else changed the assignee meanwhile; reload to see."
RENDERED_TEMPLATE = inline_serializer(
    "RenderedTemplate",
    {
        "id": drf_serializers.IntegerField(),
        "name": drf_serializers.CharField(),
        "text": drf_serializers.CharField(),
        "suggested": drf_serializers.BooleanField(
            help_text="For the intent of the customer's latest post (these come first)."
        ),
    },
    many=True,
)


SLA_TIMER = inline_serializer(
    "SlaTimer",
    {
        "kind": drf_serializers.CharField(),
        "label": drf_serializers.CharField(),
        "state": drf_serializers.CharField(),
        "due_at": drf_serializers.DateTimeField(allow_null=True),
        "at_risk_at": drf_serializers.DateTimeField(allow_null=True),
        "paused": drf_serializers.BooleanField(),
        "stopped_at": drf_serializers.DateTimeField(allow_null=True),
        "target_seconds": drf_serializers.IntegerField(),
        "business_seconds": drf_serializers.IntegerField(allow_null=True),
    },
    many=True,
)


class ConversationViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Conversation.objects.none()  # for the schema; get_queryset scopes to the user
    filter_backends = [DjangoFilterBackend]
    filterset_class = ConversationFilter
    pagination_class = NewestFirst

    def get_queryset(self):
        user = self.request.user
        # An agent's team ids, read once, let the database page the list from its indexes
        # (see visible_conversations); a supervisor sees every team.
        team_ids = (
            None if visibility.can_see_all_conversations(user) else visibility.own_team_ids(user)
        )
        conversations = (
            visibility.visible_conversations(user, team_ids=team_ids)
            .select_related("customer", "account", "team", "assignee")
            .prefetch_related("tags")
        )
        if self.action == "retrieve":
            conversations = conversations.prefetch_related(
                Prefetch("posts", queryset=Post.objects.select_related("agent")),
                "notes__author",
            )
        return conversations

    def filter_queryset(self, queryset):
        # The inbox filters (active only by default) shape lists; a conversation asked for by
        # id is found whatever its status.
        if self.action != "list":
            return queryset
        return super().filter_queryset(queryset)

    def get_serializer_class(self):
        if self.action == "retrieve":
            return serializers.ConversationDetailSerializer
        return serializers.ConversationSerializer

    @extend_schema(
        request=serializers.ReplySerializer,
        responses={201: serializers.PostSerializer, 409: CONFLICT},
    )
    @action(detail=True, methods=["post"])
    def reply(self, request: Request, pk: str) -> Response:
        conversation = self.get_object()
        data = _validated(serializers.ReplySerializer, request)
        try:
            post = services.send_reply(
                conversation_id=conversation.pk,
                agent=request.user,
                text=data["text"],
                seen_post_id=data.get("seen_post_id"),
                private=data["private"],
            )
        except services.StaleConversation as error:
            return Response({"detail": error.messages}, status=status.HTTP_409_CONFLICT)
        except DjangoValidationError as error:
            raise _as_api_error(error) from error
        post.refresh_from_db()
        return Response(serializers.PostSerializer(post).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=serializers.AssignSerializer,
        responses={200: serializers.ConversationSerializer, 409: CONFLICT},
    )
    @action(detail=True, methods=["post"])
    def assign(self, request: Request, pk: str) -> Response:
        conversation = self.get_object()
        data = _validated(serializers.AssignSerializer, request)
        agent = None
        if data["agent"]:
            agent = selectors.assignable_agent(conversation, data["agent"])
            if agent is None:
                raise ValidationError({"agent": [NOT_ASSIGNABLE]})
        seen = data["expected_assignee"] or None
        current = conversation.assignee.get_username() if conversation.assignee else None
        if seen != current:
            return Response({"detail": [STALE_ASSIGNEE]}, status=status.HTTP_409_CONFLICT)
        try:
            assign_conversation(
                conversation_id=conversation.pk,
                agent=agent,
                expected_assignee_id=conversation.assignee_id,
                by=request.user,
            )
        except DjangoValidationError as error:
            return Response({"detail": error.messages}, status=status.HTTP_409_CONFLICT)
        return Response(serializers.ConversationSerializer(self.get_object()).data)

    @extend_schema(
        request=serializers.MoveTeamSerializer, responses=serializers.ConversationSerializer
    )
    @action(detail=True, methods=["post"], url_path="team")
    def move_team(self, request: Request, pk: str) -> Response:
        """Hand the conversation to another team's queue (routing.services.move_to_team).
        The answer is the conversation as moved, which an agent outside the new team no
        longer sees."""
        conversation = self.get_object()
        data = _validated(serializers.MoveTeamSerializer, request)
        try:
            move_to_team(conversation_id=conversation.pk, team=data["team"], by=request.user)
        except DjangoValidationError as error:
            raise _as_api_error(error) from error
        moved = (
            Conversation.objects.select_related("customer", "account", "team", "assignee")
            .prefetch_related("tags")
            .get(pk=conversation.pk)
        )
        return Response(serializers.ConversationSerializer(moved).data)

    @extend_schema(
        request=serializers.StatusSerializer, responses=serializers.ConversationSerializer
    )
    @action(detail=True, methods=["post"], url_path="status")
    def change_status(self, request: Request, pk: str) -> Response:
        conversation = self.get_object()
        data = _validated(serializers.StatusSerializer, request)
        try:
            services.change_status(
                conversation_id=conversation.pk,
                status=data["status"],
                snooze_until=data.get("snooze_until"),
            )
        except DjangoValidationError as error:
            raise _as_api_error(error) from error
        return Response(serializers.ConversationSerializer(self.get_object()).data)

    @extend_schema(
        request=serializers.NoteCreateSerializer, responses={201: serializers.NoteSerializer}
    )
    @action(detail=True, methods=["post"])
    def notes(self, request: Request, pk: str) -> Response:
        conversation = self.get_object()
        data = _validated(serializers.NoteCreateSerializer, request)
        try:
            note = services.add_note(
                conversation_id=conversation.pk, author=request.user, text=data["text"]
            )
        except DjangoValidationError as error:
            raise _as_api_error(error) from error
        return Response(serializers.NoteSerializer(note).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=serializers.PostActionSerializer,
        responses={200: serializers.PostSerializer, 400: OpenApiResponse(description="Refused")},
    )
    @action(detail=True, methods=["post"], url_path=r"posts/(?P<post_id>\d+)/actions")
    def post_action(self, request: Request, pk: str, post_id: str) -> Response:
        """A social action on one post: like, unlike, hide, unhide, delete (the brand's own
        reply) or block (its author). The platform's refusal comes back as a 400, in words."""
        conversation = self.get_object()
        post = conversation.posts.filter(pk=int(post_id)).first()
        if post is None:
            raise NotFound("No such post in this conversation.")
        data = _validated(serializers.PostActionSerializer, request)
        try:
            social.perform(post_id=post.pk, agent=request.user, verb=data["action"])
        except social.SocialActionRefused as error:
            raise _as_api_error(error) from error
        post.refresh_from_db()
        return Response(serializers.PostSerializer(post).data)

    @extend_schema(responses=RENDERED_TEMPLATE)
    @action(detail=True, methods=["get"], url_path="templates")
    def rendered_templates(self, request: Request, pk: str) -> Response:
        """The reply templates offered for this conversation, with variables filled in."""
        conversation = self.get_object()
        latest = conversation.posts.filter(direction=Direction.INBOUND).exclude(intent="")
        suggest_for = selectors.latest_inbound_intent(
            list(latest.order_by("-created_at", "-id")[:1])
        )
        return Response(
            [
                {
                    "id": template.pk,
                    "name": template.name,
                    "text": render_reply_template(
                        template, conversation=conversation, agent=request.user
                    ),
                    "suggested": suggested,
                }
                for template, suggested in selectors.reply_templates_for(
                    conversation, suggest_for=suggest_for
                )
            ]
        )


class TeamViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Team.objects.none()
    serializer_class = serializers.TeamSerializer
    pagination_class = None

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Team.objects.none()
        return Team.objects.filter(pk__in=visibility.visible_team_ids(self.request.user))


class ReplyTemplateViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = serializers.ReplyTemplateSerializer
    pagination_class = None

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ReplyTemplate.objects.none()
        teams = visibility.visible_team_ids(self.request.user)
        return ReplyTemplate.objects.filter(Q(team__isnull=True) | Q(team__in=teams))


def _validated(serializer_class, request: Request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class CustomerViewSet(viewsets.ReadOnlyModelViewSet):
    """Customers the user has a conversation with in their teams."""

    queryset = Customer.objects.none()
    serializer_class = serializers.CustomerSerializer
    pagination_class = NewestFirst

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Customer.objects.none()
        visible = visibility.visible_conversations(self.request.user)
        return Customer.objects.filter(pk__in=visible.values("customer_id"))

    @extend_schema(responses=serializers.ConversationSerializer(many=True))
    @action(detail=True, methods=["get"])
    def conversations(self, request: Request, pk: str) -> Response:
        """The customer's conversations the user may see, newest first."""
        customer = self.get_object()
        conversations = (
            visibility.visible_conversations(request.user)
            .filter(customer=customer)
            .select_related("customer", "account", "team", "assignee")
            .prefetch_related("tags")
            .order_by("-created_at")[:100]
        )
        return Response(serializers.ConversationSerializer(conversations, many=True).data)

    @extend_schema(
        request=serializers.CustomerNotesSerializer, responses=serializers.CustomerSerializer
    )
    @action(detail=True, methods=["post"])
    def notes(self, request: Request, pk: str) -> Response:
        """Replace the agents' notes on the customer (audited)."""
        customer = self.get_object()
        data = _validated(serializers.CustomerNotesSerializer, request)
        try:
            updated = customers.update_notes(
                customer_id=customer.pk, agent=request.user, notes=data["notes"]
            )
        except DjangoValidationError as error:
            raise _as_api_error(error) from error
        return Response(serializers.CustomerSerializer(updated).data)

    @extend_schema(
        request=serializers.ProfileLinkSerializer, responses=serializers.CustomerSerializer
    )
    @action(detail=True, methods=["post"])
    def profiles(self, request: Request, pk: str) -> Response:
        """Merge a suggested profile into the customer (merge: true) or unmerge it."""
        customer = self.get_object()
        data = _validated(serializers.ProfileLinkSerializer, request)
        service = customers.merge_profile if data["merge"] else customers.unmerge_profile
        try:
            service(link_id=data["link"], customer_id=customer.pk, agent=request.user)
        except DjangoValidationError as error:
            raise _as_api_error(error) from error
        return Response(serializers.CustomerSerializer(customer).data)


class SlaTimersView(viewsets.ViewSet):
    """The SLA timers of a conversation: state, due instant, pauses."""

    @extend_schema(responses=SLA_TIMER)
    def list(self, request: Request, conversation_pk: str) -> Response:
        try:
            return Response(timers_of(request.user, int(conversation_pk)))
        except SlaTimer.DoesNotExist as missing:
            raise NotFound("No such conversation in your teams.") from missing
