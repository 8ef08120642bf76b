"""REST API operations as pure build/parse functions, and the clients that send them."""
