"""What the API shows of conversations, posts, customers and templates, and what it accepts."""

from rest_framework import serializers

from core.models import (
    Conversation,
    ConversationStatus,
    Customer,
    Note,
    Post,
    ReplyTemplate,
    Team,
)


class TeamSerializer(serializers.ModelSerializer):
    class Meta:
        model = Team
        fields = ["id", "name", "slug", "is_default", "assignment_strategy"]


class CustomerSerializer(serializers.ModelSerializer):
    class Meta:
        model = Customer
        fields = [
            "id",
            "platform",
            "external_id",
            "handle",
            "display_name",
            "follower_count",
            "is_verified",
            "notes",
            "blocked_at",
        ]
        read_only_fields = ["blocked_at"]


class PostSerializer(serializers.ModelSerializer):
    agent = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Post
        fields = [
            "id",
            "direction",
            "platform",
            "external_id",
            "text",
            "in_reply_to",
            "created_at",
            "received_at",
            "agent",
            "delivery_status",
            "delivery_error",
            "intent",
            "sentiment",
            "priority",
            "triage_confidence",
            "triage_reasons",
            "liked_at",
            "hidden_at",
            "deleted_at",
        ]


class NoteSerializer(serializers.ModelSerializer):
    author = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Note
        fields = ["id", "author", "text", "created_at"]


class ConversationSerializer(serializers.ModelSerializer):
    customer = CustomerSerializer(read_only=True)
    platform = serializers.CharField(source="account.platform", read_only=True)
    account = serializers.CharField(source="account.handle", read_only=True)
    team = serializers.CharField(source="team.name", read_only=True, default=None)
    assignee = serializers.SlugRelatedField(slug_field="username", read_only=True)
    tags = serializers.SlugRelatedField(slug_field="name", many=True, read_only=True)

    class Meta:
        model = Conversation
        fields = [
            "id",
            "customer",
            "platform",
            "account",
            "status",
            "team",
            "assignee",
            "priority",
            "intent",
            "sentiment",
            "tags",
            "needs_reply",
            "created_at",
            "updated_at",
            "last_inbound_at",
            "first_response_due_at",
            "first_response_at",
            "resolved_at",
            "snoozed_until",
        ]


class ConversationDetailSerializer(ConversationSerializer):
    posts = PostSerializer(many=True, read_only=True)
    notes = NoteSerializer(many=True, read_only=True)

    class Meta(ConversationSerializer.Meta):
        fields = [*ConversationSerializer.Meta.fields, "posts", "notes"]


class ReplySerializer(serializers.Serializer):
    text = serializers.CharField(max_length=10_000, trim_whitespace=True)
    seen_post_id = serializers.IntegerField(required=False, min_value=1)
    private = serializers.BooleanField(
        default=False,
        help_text="Send as a private message, with a public note that the conversation moved.",
    )


class AssignSerializer(serializers.Serializer):
    # Usernames, looked up by the view among the conversation's team only: whether a name
    # exists elsewhere is nobody's business (an unknown user and an outsider answer alike).
    agent = serializers.CharField(
        allow_null=True, max_length=150, help_text="Username of an agent of the team."
    )
    expected_assignee = serializers.CharField(
        allow_null=True,
        max_length=150,
        help_text="Who you saw assigned; the change is refused if someone changed it since.",
    )


class MoveTeamSerializer(serializers.Serializer):
    team = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=Team.objects.all(),
        help_text="Slug of the team whose queue takes the conversation.",
    )


class StatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=ConversationStatus.choices)
    snooze_until = serializers.DateTimeField(required=False, allow_null=True)


class NoteCreateSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=5_000)


class ReplyTemplateSerializer(serializers.ModelSerializer):
    class Meta:
        model = ReplyTemplate
        fields = ["id", "name", "team", "intent", "body"]


class PostActionSerializer(serializers.Serializer):
    action = serializers.ChoiceField(
        choices=["like", "unlike", "hide", "unhide", "delete", "block"],
        help_text="What to do on the platform; allowed per platform and post.",
    )


class CustomerNotesSerializer(serializers.Serializer):
    notes = serializers.CharField(allow_blank=True, max_length=2000, trim_whitespace=True)


class ProfileLinkSerializer(serializers.Serializer):
    link = serializers.IntegerField(help_text="The id of the link to the other profile.")
    merge = serializers.BooleanField(help_text="True to merge the profile, false to unmerge.")
