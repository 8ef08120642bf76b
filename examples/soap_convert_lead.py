"""Lead conversion, a SOAP-only call: leads created over REST, converted over SOAP.

    python examples/soap_convert_lead.py            # against a fresh fake org
    SF_INSTANCE_URL=... python examples/soap_convert_lead.py   # a real org (see README.md)

`SoapClient.from_client(sf)` shares the REST client's session: the SOAP SessionHeader
carries the same OAuth token, refreshed by the same auth flow. Several leads convert in
one call; each gets its own result, and a failure (here a status that is not a converted
one) is a value in that result, not an exception. It deletes what it creates.
"""

from __future__ import annotations

import sys
import uuid

from _connect import step, target

from salesforce_typed.soap import LeadConvert, SoapClient
from salesforce_typed_std import Account, Lead

CONVERTED = "Closed - Converted"


def main() -> int:
    tag = f"sft-{uuid.uuid4().hex[:6]}"
    with target() as org, org.client() as sf:
        soap = SoapClient.from_client(sf)
        created: list[str] = []  # deleted at the end, children before parents
        try:
            step("create three leads over REST")
            leads = [
                Lead(
                    FirstName="Ada",
                    LastName=f"Byron {tag}",
                    Company=f"Engines {tag}",
                    City="London",
                ),
                Lead(LastName=f"Hopper {tag}", Company=f"Compilers {tag}"),
                Lead(LastName=f"Nobody {tag}", Company=f"Nowhere {tag}"),
            ]
            ids = [r.id for r in sf.create_many(leads) if r.id]
            created += ids
            print(f"created {len(ids)} leads")

            step("convertLead over SOAP: three leads, one call")
            results = soap.convert_lead(
                [
                    LeadConvert(
                        lead_id=ids[0],
                        converted_status=CONVERTED,
                        opportunity_name=f"Engine deal {tag}",
                    ),
                    LeadConvert(
                        lead_id=ids[1], converted_status=CONVERTED, do_not_create_opportunity=True
                    ),
                    LeadConvert(lead_id=ids[2], converted_status="Open - Not Contacted"),
                ]
            )
            for result in results:
                if result.success:
                    made = [result.opportunity_id, result.contact_id, result.account_id]
                    created[:0] = [i for i in made if i]
                    print(
                        f"lead {result.lead_id}: converted -> account {result.account_id}, "
                        f"contact {result.contact_id}, opportunity {result.opportunity_id}"
                    )
                else:
                    error = result.errors[0]
                    print(f"lead {result.lead_id}: not converted: {error.status_code}")

            step("read the converted lead back over REST")
            lead = sf.get(
                Lead, ids[0], ["IsConverted", "Status", "ConvertedAccountId", "ConvertedDate"]
            )
            print(f"IsConverted={lead.IsConverted} Status={lead.Status}")
            print(f"ConvertedDate={lead.ConvertedDate}")
            print(f"ConvertedAccountId matches: {lead.ConvertedAccountId == results[0].account_id}")

            step("query the new accounts over SOAP, typed")
            accounts = soap.query(
                Account,
                "SELECT Id, Name, BillingCity FROM Account WHERE Name LIKE :n ORDER BY Name",
                {"n": f"%{tag}"},
            ).all()
            print(f"accounts: {[(a.Name, a.BillingCity) for a in accounts]}")
            if sum(r.success for r in results) != 2 or not lead.IsConverted:
                return 1
        finally:
            step("clean up")
            done = soap.delete(created)
            print(f"deleted {sum(d.success for d in done)} of {len(created)} records")
    print("\nsoap_convert_lead: done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
