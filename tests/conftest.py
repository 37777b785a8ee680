"""Suite-wide plugins: the network guard (no test leaves loopback) and the chat API fakes."""

pytest_plugins = ["tests.fakes.netguard", "tests.fakes.fixtures", "pytester"]
