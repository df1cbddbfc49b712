"""The network side of login: HTTP, TLS, proxies, challenges and the token flow (private)."""
