"""The HTTP API: REST, live alert streams (WebSocket, SSE), metrics and the web page."""
