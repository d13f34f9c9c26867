from pathlib import Path

from shop import contract

DOC = Path(__file__).resolve().parents[2] / "docs" / "contract.md"


def test_the_contract_page_documents_every_column_and_event_type():
    text = DOC.read_text()
    for table in contract.TABLES.values():
        for column in table.columns:
            assert f"`{column.name}`" in text, f"{table.name}.{column.name} missing from docs/contract.md"
    for event_type in contract.EVENT_TYPES:
        assert f"`{event_type}`" in text
