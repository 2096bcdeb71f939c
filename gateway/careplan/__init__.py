"""Care plans (targets, pump-therapy agreements, resources, follow-up owners) and their
evaluation against what the devices measured (DESIGN.md section 9)."""
