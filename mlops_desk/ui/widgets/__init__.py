"""Small reusable widgets: banners, sparklines, the config diff."""
