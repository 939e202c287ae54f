"""The browser UI: a single static page that talks to the Arvados face with the user's token."""
