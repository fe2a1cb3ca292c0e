"""The web UI's controllers, one module per part of UI.md's page table."""
