"""Icons, styles, sample workspace data and report templates."""
