"""{% setup_checklist %}: the admin index's first-hour guide (parley.setup_checklist)."""

from django import template

from parley.setup_checklist import setup_steps

register = template.Library()


@register.inclusion_tag("admin/_setup_checklist.html")
def setup_checklist() -> dict:
    steps = setup_steps()
    return {"steps": steps, "done": sum(step.done for step in steps), "total": len(steps)}
