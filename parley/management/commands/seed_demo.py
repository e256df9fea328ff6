from django.core.management.base import BaseCommand

from parley.demo import seed_demo


class Command(BaseCommand):
    help = "Create the demo teams, agents, platform account, routing rule and SLA policy."

    def add_arguments(self, parser):
        parser.add_argument("--admin-password", default="parley-admin")
        parser.add_argument("--agent-password", default="parley-agent")
        parser.add_argument("--supervisor-password", default="parley-supervisor")
        parser.add_argument(
            "--history-days",
            type=int,
            default=0,
            help="Also write this many days of made-up history (once), so the reports have "
            "something to show; `make run` asks for 60.",
        )

    def handle(self, *args, **options):
        logins = seed_demo(
            admin_password=options["admin_password"],
            agent_password=options["agent_password"],
            supervisor_password=options["supervisor_password"],
        )
        if options["history_days"] > 0:
            from reports.demo_history import seed_history

            history = seed_history(days=options["history_days"])
            if history.created:
                self.stdout.write(
                    f"History: {history.days} days, {history.conversations} conversations, "
                    f"{history.posts} posts."
                )
        self.stdout.write(self.style.SUCCESS("Demo ready. Log in at http://127.0.0.1:8000/ as:"))
        for login in logins:
            self.stdout.write(f"  {login.username} / {login.password}   — {login.role}")
