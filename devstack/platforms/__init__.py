"""Local stand-ins for outside platforms (webhook receivers, ad and CRM APIs): real HTTP servers
in a thread that tests and `make run` talk to instead of the internet."""
