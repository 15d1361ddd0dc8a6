"""One module per group of commands; each command parses, calls the domain, prints."""
