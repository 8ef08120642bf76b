"""The asyncio Pub/Sub API client."""
