"""A Level 2 parser whose output has a contract: values the contract rejects go to quarantine."""

import pyarrow.csv as pcsv
from casparian_parser import Parser


class ContractedParser(Parser):
    name = "contracted"
    version = "2.0.0"
    outputs = {"orders": "orders.contract.yaml"}

    def parse(self, path):
        options = pcsv.ConvertOptions(column_types={"id": "string", "amount": "string"})
        return pcsv.read_csv(path, convert_options=options)
