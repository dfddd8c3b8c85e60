"""Document control for the sales business process manual."""
