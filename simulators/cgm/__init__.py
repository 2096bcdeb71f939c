"""Virtual CGM devices that speak their real protocols (see DESIGN.md §5)."""
