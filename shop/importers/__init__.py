"""Importers: bring external files (CDNOW, UCI Online Retail, REES46, or any file with a YAML mapping)
into the landing zone in contract shape. See mappings/README.md for the mapping format."""

from shop.importers.mapping import Mapping, MappingError, load_mapping, parse_mapping, shipped_mappings
from shop.importers.run import ImportReport, import_file

__all__ = [
    "ImportReport",
    "Mapping",
    "MappingError",
    "import_file",
    "load_mapping",
    "parse_mapping",
    "shipped_mappings",
]
