"""Qt item models (QAbstractTableModel) over plain data loaded off the GUI thread."""
