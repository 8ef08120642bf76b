"""The fixture codebase: a module of correct queries and one of mistakes, every kind of site.

Written into each test's tmp dir as source text (never imported: the calls only need to
parse), so the line and column of every expected problem is fixed here.
"""

from __future__ import annotations

GOOD = '''\
from salesforce_typed_std import Account, Contact, Task

ACCOUNTS = "SELECT Id, Name FROM Account"
BY_NAME = "SELECT Id FROM Account WHERE Name = :name"
FIELDS = "Id, LastName"


def reads(sf, composite, name, ids):
    sf.query(Account, ACCOUNTS)
    sf.query(Account, BY_NAME, {"name": name})
    sf.query(Contact, f"SELECT {FIELDS} FROM Contact")
    sf.query(Contact, "SELECT Contact.Id, " + "Contact.Account.Owner.Name FROM Contact")
    sf.query("select id, NAME from ACCOUNT a where a.Name like 'A%' and a.owner.isactive = true")
    sf.query_all(Account, "SELECT Id FROM Account WHERE Id IN :ids", params={"ids": ids})
    sf.query("SELECT Id, Account.Name FROM Contact WHERE CreatedDate = LAST_N_DAYS:30")
    sf.query("SELECT FIELDS(STANDARD) FROM Account LIMIT 200")
    sf.query(Task, "SELECT Id, What.Name, What.Type, Who.Name FROM Task")
    sf.query(
        Task,
        """SELECT Id,
                  TYPEOF What WHEN Account THEN Phone, Industry
                              WHEN Opportunity THEN Amount ELSE Name END
           FROM Task""",
    )
    sf.query("SELECT Id, (SELECT LastName FROM Contacts WHERE Email != null) FROM Account")
    sf.query("SELECT Id FROM Account WHERE Id IN (SELECT AccountId FROM Contact)")
    sf.query("SELECT Industry, COUNT(Id), SUM(AnnualRevenue) FROM Account GROUP BY Industry")
    sf.query("SELECT Id FROM Account ORDER BY Name DESC NULLS LAST LIMIT :n", {"n": 5})
    sf.bulk2.query(Account, "SELECT Id, Name FROM Account")
    sf.bulk1.query("SELECT Id FROM Lead WHERE IsConverted = false")
    sf.soap.query(Contact, "SELECT Id, Email FROM Contact")
    sf.bulk2.query_to_csv("SELECT Id FROM Case", "cases.csv")
    composite.query("SELECT Id FROM Opportunity", Account.__class__)
    sf.query(
        "SELECT Id FROM Opportunity WHERE Amount > 1000000 AND CloseDate = 2024-01-01"
        " AND CreatedDate > 2024-01-01T00:00:00Z AND IsDeleted = false AND AccountId != null"
        " AND Id != '0065g0000000001AAA' AND StageName IN ('Prospecting', 'Closed Won')"
    )
    sf.query(Account, make_soql())  # not resolvable: not a site
    session.query(User).filter(User.name == "x")  # another library's query(): no SOQL
'''

# Every problem in BAD, in order: (line, the text its column points at, code, message).
BAD = """\
from salesforce_typed_std import Account, Contact

WRONG = "SELECT Id FROM Account"


def reads(sf, composite, name):
    sf.query(Account, "SELECT Id, Nmae FROM Account")
    sf.query(Contact, WRONG)
    sf.query("SELECT Id FROM Acount")
    sf.query("SELECT Id, Account.Ownr.Name FROM Contact")
    sf.query("SELECT Id, (SELECT Id FROM Contactz) FROM Account")
    sf.query("SELECT Id FROM Contact WHERE Description = 'x'")
    sf.query("SELECT Id FROM Account ORDER BY BillingAddress")
    sf.query("SELECT Description, COUNT(Id) FROM Account GROUP BY Description")
    sf.query("SELECT SUM(Name) FROM Account")
    sf.query("SELECT Id FROM Account WHERE Name = :name")
    sf.query("SELECT Id FROM Account WHERE Name = :name", {"nmae": name})
    sf.query("SELECT Id, TYPEOF Account WHEN Account THEN Name END FROM Contact")
    sf.query("SELECT What.Industry, TYPEOF What WHEN Lead THEN Name END FROM Task")
    sf.soap.query("SELECT Id FROM Account WHERE Id IN (SELECT AccountId FROM Contact WHERE Nme = 'x')")
    sf.bulk2.query("SELECT Id FRM Account")
    composite.query("SELECT Id FROM Case", Contact)
    params = {"nm": name}
    sf.bulk1.query(Account, "SELECT Id FROM Account WHERE Name = :name", params)
    sf.query("SELECT Name, Industry, COUNT(Id) FROM Account GROUP BY Industry ORDER BY Name")
    sf.query("SELECT Id FROM Account WHERE AnnualRevenue = '5' OR CreatedDate = 2020-01-01 OR Id = 'abc'")
"""

BAD_PROBLEMS = [
    (7, "Nmae", "SOQL002", "unknown field 'Nmae' on Account (did you mean 'Name'?)"),
    (8, "WRONG)", "SOQL009", "model Contact (Contact) does not match FROM Account"),
    (9, "Acount", "SOQL001", "unknown object 'Acount' (did you mean 'Account'?)"),
    (10, "Ownr", "SOQL003", "unknown relationship 'Ownr' on Account (did you mean 'Owner'?)"),
    (
        11,
        "Contactz",
        "SOQL004",
        "unknown child relationship 'Contactz' on Account (did you mean 'Contacts'?)",
    ),
    (12, "Description", "SOQL005", "field 'Contact.Description' can not be filtered"),
    (13, "BillingAddress", "SOQL006", "field 'Account.BillingAddress' can not be sorted"),
    (14, 'Description"', "SOQL007", "field 'Account.Description' can not be grouped"),
    (15, "Name)", "SOQL008", "field 'Name' (string) does not support aggregate operator SUM"),
    (16, ":name", "SOQL010", "placeholder :name has no value (no params given)"),
    (17, "SELECT", "SOQL011", "params key 'nmae' has no placeholder :nmae"),
    (17, ":name", "SOQL010", "placeholder :name not in params"),
    (18, "Account WHEN", "SOQL012", "TYPEOF needs a polymorphic relationship; 'Account' is not"),
    (
        19,
        "Industry",
        "SOQL002",
        "unknown field 'Industry' on polymorphic 'What' (Name entity; use TYPEOF)",
    ),
    (
        19,
        "Lead",
        "SOQL012",
        "'What' cannot be a Lead (it is one of Account, Opportunity, Case, Campaign, Contract, "
        "Order, Asset, Product2)",
    ),
    (20, "Nme", "SOQL002", "unknown field 'Nme' on Contact (did you mean 'Name'?)"),
    (21, "FRM", "SOQL000", "unexpected token: 'FRM'"),
    (22, "SELECT", "SOQL009", "model Contact (Contact) does not match FROM Case"),
    (24, "SELECT", "SOQL011", "params key 'nm' has no placeholder :nm"),
    (24, ":name", "SOQL010", "placeholder :name not in params"),
    (25, "Name", "SOQL013", "field 'Name' must be grouped or aggregated"),
    (25, 'Name")', "SOQL013", "field 'Name' must be grouped or aggregated"),
    (
        26,
        "'5'",
        "SOQL014",
        "value of filter criterion for field 'AnnualRevenue' must be of type double and should "
        "not be enclosed in quotes",
    ),
    (
        26,
        "2020",
        "SOQL014",
        "value of filter criterion for field 'CreatedDate' must be of type dateTime and should "
        "not be enclosed in quotes",
    ),
    (26, "'abc'", "SOQL014", "invalid ID field: abc"),
]
