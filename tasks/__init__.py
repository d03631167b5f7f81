"""Celery tasks: thin wrappers that decode a `FileJob`, call one plain function in `shared/`,
record state and return the new job. Importing this package (or a task module) builds no app:
`celery -A tasks` finds the one in `tasks.celery`, `mediacourier` builds its own
(`tasks.app.create_app`), and the tasks register with whichever app a process creates."""
