"""Plain library code of mediacourier, one subpackage per subsystem (see docs/architecture.md).

Top-level modules are the few that every subsystem uses: `errors` (the exception tree), `jobs`
(the `FileJob` that travels through the stages), `backoff`, `secrets`."""
