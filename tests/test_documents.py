"""A user's documents as passages: PDF, Word, HTML, text and Markdown read with their headings and numbered
clauses as heading paths and PDF page numbers in the metadata; each bad file is one line and the rest is read.

Every document is made here: PDFs with fpdf2 (and pypdf to encrypt one), Word files with python-docx."""

import hashlib
import io
import zipfile

import pytest

from bot.documents import file_passages, read_documents
from bot.errors import DocumentError, InputError
from bot.outline import parse_clause
from bot.retrieval import document_passages, read_passages, save_passages

HEADER = "Acme Master Services Agreement - Confidential"


def contract_pdf() -> bytes:
    """Two pages of numbered clauses under a running header and a "Page N of 2" footer; clause 4.3 starts at the
    bottom of page 1 and goes on over page 2."""
    from fpdf import FPDF

    class Contract(FPDF):
        def header(self):
            self.set_font("Helvetica", size=9)
            self.cell(0, 6, HEADER, new_x="LMARGIN", new_y="NEXT")

        def footer(self):
            self.set_y(-15)
            self.set_font("Helvetica", size=9)
            self.cell(0, 6, f"Page {self.page_no()} of {{nb}}", align="C")

    pdf = Contract()
    pdf.set_font("Helvetica", size=11)
    pdf.add_page()
    pdf.multi_cell(0, 6, new_x="LMARGIN", new_y="NEXT", text="MASTER SERVICES AGREEMENT\n\n1. Definitions\n1.1 Services. The hosted software named in the "
                         "Order Form.\n\n4. Term and Renewal\n4.1 Initial term. The Agreement runs for twelve months.\n"
                         "30 days after notice, either party may end a trial.")
    pdf.set_y(235)
    renewal = " ".join(f"Renewal sentence {n} says one more thing about renewing the subscription." for n in range(30))
    pdf.multi_cell(0, 6, new_x="LMARGIN", new_y="NEXT", text=f"4.3 Renewal price cap. Fees may rise by at most 5% at each renewal. {renewal}")
    pdf.multi_cell(0, 6, new_x="LMARGIN", new_y="NEXT", text="\n5. Fees\n5.1 Invoices. Invoices are payable within 30 days of their date.")
    return bytes(pdf.output())


def contract_docx() -> bytes:
    """A Word contract: Title and Heading styles, clauses typed as text, clauses numbered by Word, a table."""
    import docx
    from docx.oxml import parse_xml
    from docx.oxml.ns import nsdecls

    document = docx.Document()
    document.add_heading("Master Services Agreement", 0)
    document.add_heading("Commercial terms", 1)
    document.add_paragraph("4. Term and Renewal")
    document.add_paragraph("4.3 Renewal price cap. Fees may rise by at most 5% at each renewal.")
    table = document.add_table(rows=2, cols=2)
    for (row, column), text in {(0, 0): "Plan", (0, 1): "Price", (1, 0): "Team", (1, 1): "$49 a month"}.items():
        table.cell(row, column).text = text
    document.add_paragraph("To cancel:")
    document.add_paragraph("Call support", style="List Number")
    document.add_paragraph("Wait for the e-mail", style="List Number")
    document.add_heading("Schedule of clauses numbered by Word", 1)
    numbering = document.part.numbering_part.element
    numbering.insert(0, parse_xml(
        f'<w:abstractNum {nsdecls("w")} w:abstractNumId="90">'
        '<w:lvl w:ilvl="0"><w:start w:val="7"/><w:numFmt w:val="decimal"/><w:lvlText w:val="%1."/></w:lvl>'
        '<w:lvl w:ilvl="1"><w:start w:val="1"/><w:numFmt w:val="decimal"/><w:lvlText w:val="%1.%2"/></w:lvl>'
        '</w:abstractNum>'))
    numbering.append(parse_xml(f'<w:num {nsdecls("w")} w:numId="90"><w:abstractNumId w:val="90"/></w:num>'))
    for level, text in [(0, "Liability"), (1, "Cap. Liability is capped at the fees of 12 months."),
                        (1, "Exclusions. Neither party is liable for indirect loss.")]:
        paragraph = document.add_paragraph(text)
        paragraph._p.get_or_add_pPr().append(parse_xml(
            f'<w:numPr {nsdecls("w")}><w:ilvl w:val="{level}"/><w:numId w:val="90"/></w:numPr>'))
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def passages_of(tmp_path, name: str, data: bytes | str):
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return file_passages(path, name)


def sections_and_texts(passages) -> list[tuple[str, str]]:
    return [(p.metadata["section"], p.page_content) for p in passages]


# Numbered clauses -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("line, heading, depth, body", [
    ("4. Term and Renewal", "4. Term and Renewal", 1, ""),
    ("4.3 Renewal price cap", "4.3 Renewal price cap", 2, ""),
    ("4.3. Renewal price cap", "4.3. Renewal price cap", 2, ""),
    ("Section 4.3 – Renewal price cap", "Section 4.3 Renewal price cap", 2, ""),
    ("§ 4.3 Renewal price cap", "§ 4.3 Renewal price cap", 2, ""),
    ("Article 4 Definitions", "Article 4 Definitions", 1, ""),
    ("ARTICLE IV", "ARTICLE IV", 1, ""),
    ("4.3.1 Notice of increase", "4.3.1 Notice of increase", 3, ""),
    ("4.3 Renewal price cap. Fees may rise by at most 5%.", "4.3 Renewal price cap", 2, "Fees may rise by at most 5%."),
    ("4.3 U.S. Export controls. Customer complies with them.", "4.3 U.S. Export controls", 2, "Customer complies with them."),
    ("4.3 Either party may terminate this Agreement on 30 days' notice.", "4.3", 2,
     "Either party may terminate this Agreement on 30 days' notice."),
])
def test_a_numbered_clause_is_a_heading_as_deep_as_its_number(line, heading, depth, body):
    clause = parse_clause(line)
    assert (clause.heading, clause.depth, clause.body) == (heading, depth, body)


@pytest.mark.parametrize("line", [
    "30 days after notice, the fee is refunded.", "2.5 hours of support are included.", "1.3-liter reservoir",
    "99.3% earns 20%.", "Section 4.3 applies to renewals.", "2024. The year the plan changed.", "4.3", "12",
    "1. Open the app and tap Settings.", "12. The Supplier shall indemnify the Customer.", "1.5 2.0 3.5",
])
def test_a_line_that_only_looks_like_a_clause_is_text(line):
    assert parse_clause(line) is None


CONTRACT_TXT = """MASTER SERVICES AGREEMENT

1. Definitions
1.1 Services. The hosted software named in the Order Form.

4. Term and Renewal
4.1 Initial term. The Agreement runs for twelve months.
4.3 Renewal price cap. Fees may rise by at most 5% at each
renewal.
30 days after notice, a trial ends.
4.3.1 Notice. Acme gives notice of an increase 60 days before
the renewal.

To cancel:
1. Call support
2. Wait for the e-mail

5. Fees
Section 5.2 – Late payment
Late payments accrue interest of 1% a month.
"""


def test_a_contracts_clause_4_3_is_under_4_in_the_section_path(tmp_path):
    passages = passages_of(tmp_path, "msa.txt", CONTRACT_TXT)
    assert sections_and_texts(passages) == [
        ("", "MASTER SERVICES AGREEMENT"),
        ("1. Definitions › 1.1 Services", "1. Definitions › 1.1 Services\nThe hosted software named in the Order Form."),
        ("4. Term and Renewal › 4.1 Initial term",
         "4. Term and Renewal › 4.1 Initial term\nThe Agreement runs for twelve months."),
        ("4. Term and Renewal › 4.3 Renewal price cap",
         "4. Term and Renewal › 4.3 Renewal price cap\nFees may rise by at most 5% at each renewal.\n"
         "30 days after notice, a trial ends."),
        ("4. Term and Renewal › 4.3 Renewal price cap › 4.3.1 Notice",
         "4. Term and Renewal › 4.3 Renewal price cap › 4.3.1 Notice\n"
         "Acme gives notice of an increase 60 days before the renewal.\nTo cancel:\n1. Call support\n2. Wait for the e-mail"),
        ("5. Fees › Section 5.2 Late payment", "5. Fees › Section 5.2 Late payment\nLate payments accrue interest of 1% a month."),
    ]
    assert all(set(p.metadata) == {"source", "section"} and p.metadata["source"] == "msa.txt" for p in passages)


def test_a_clause_numbered_without_a_full_stop_heads_its_paragraph_or_its_sub_clauses(tmp_path):
    import docx

    document = docx.Document()
    for text in ["1 Definitions", "Services means the hosted software.", "3 Termination",
                 "Either party may end the Agreement on 90 days' notice.", "To cancel:", "1 Call support",
                 "2 Wait for the e-mail", "30 days after notice, a trial ends."]:
        document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    assert sections_and_texts(passages_of(tmp_path, "msa.docx", out.getvalue())) == [
        ("1 Definitions", "1 Definitions\nServices means the hosted software."),
        ("3 Termination", "3 Termination\nEither party may end the Agreement on 90 days' notice.\nTo cancel:\n"
                          "1 Call support\n2 Wait for the e-mail\n30 days after notice, a trial ends."),
    ]
    # A printed line (text, PDF) heads a clause only above its first sub-clause: "12 Months" may be a wrapped line.
    text = "3 Termination\n3.1 Notice. Either party may end it on 90 days' notice.\n\n12 Months\nof support.\n"
    assert sections_and_texts(passages_of(tmp_path, "msa.txt", text)) == [
        ("3 Termination › 3.1 Notice", "3 Termination › 3.1 Notice\nEither party may end it on 90 days' notice.\n"
                                       "12 Months of support."),
    ]


def test_a_table_of_contents_and_a_reference_wrapped_onto_a_new_line_are_text(tmp_path):
    text = ("CONTENTS\n1. Definitions ........ 2\n1.1 Services ........ 2\n\n1. Definitions\n"
            "1.1 Services. The software, as defined in Section\n2.1 Access Rights of the Order Form.\n"
            "The Customer pays the fees set out in the\n4.3 Renewal Schedule.\n")
    assert sections_and_texts(passages_of(tmp_path, "msa.txt", text)) == [
        ("", "CONTENTS\n1. Definitions ........ 2\n1.1 Services ........ 2"),
        ("1. Definitions › 1.1 Services", "1. Definitions › 1.1 Services\nThe software, as defined in Section 2.1 "
         "Access Rights of the Order Form.\nThe Customer pays the fees set out in the 4.3 Renewal Schedule."),
    ]


def test_markdown_headings_lead_and_clauses_nest_under_them(tmp_path):
    text = ("# Subscription Agreement\n\n## §4 Term and Renewal\n\n§4.1 Initial term. Twelve months.\n\n"
            "§4.3 Renewal price cap. At most 5% a year.\n\n## §5 Fees\n\n**§5.1 Invoices.** Monthly.\n"
            "Steps to pay:\n\n1. Open the invoice\n2. Pay it\n\n```\n# not a heading\n4.3 Not a clause\n```\n")
    assert sections_and_texts(passages_of(tmp_path, "a.md", text)) == [
        ("Subscription Agreement › §4 Term and Renewal › §4.1 Initial term",
         "Subscription Agreement › §4 Term and Renewal › §4.1 Initial term\nTwelve months."),
        ("Subscription Agreement › §4 Term and Renewal › §4.3 Renewal price cap",
         "Subscription Agreement › §4 Term and Renewal › §4.3 Renewal price cap\nAt most 5% a year."),
        ("Subscription Agreement › §5 Fees", "Subscription Agreement › §5 Fees\n**§5.1 Invoices.** Monthly.\n"
         "Steps to pay:\n1. Open the invoice\n2. Pay it\n```\n# not a heading\n4.3 Not a clause\n```"),
    ]


# PDF --------------------------------------------------------------------------------------------------------

def test_a_pdf_gives_its_clauses_pages_and_no_running_header_or_page_numbers(tmp_path):
    passages = passages_of(tmp_path, "msa.pdf", contract_pdf())
    assert [(p.metadata["section"], p.metadata["page"]) for p in passages][:3] == [
        ("", 1), ("1. Definitions › 1.1 Services", 1), ("4. Term and Renewal › 4.1 Initial term", 1)]
    assert passages[2].page_content == ("4. Term and Renewal › 4.1 Initial term\nThe Agreement runs for twelve months.\n"
                                        "30 days after notice, either party may end a trial.")
    renewal = [p for p in passages if p.metadata["section"] == "4. Term and Renewal › 4.3 Renewal price cap"]
    assert len(renewal) >= 3 and renewal[0].metadata["page"] == 1 and renewal[-1].metadata["page"] == 2
    assert renewal[0].page_content.startswith("4. Term and Renewal › 4.3 Renewal price cap\nFees may rise by at most 5%")
    body = " ".join(p.page_content.split("\n", 1)[1] for p in renewal)
    assert all(f"Renewal sentence {n} says one more thing" in body for n in range(30)), "the clause reads on over page 2"
    assert (passages[-1].metadata, passages[-1].page_content) == (
        {"source": "msa.pdf", "section": "5. Fees › 5.1 Invoices", "page": 2},
        "5. Fees › 5.1 Invoices\nInvoices are payable within 30 days of their date.")
    text = "\n".join(p.page_content for p in passages)
    assert "Confidential" not in text and "Page 1" not in text and "of 2" not in text


def test_an_encrypted_pdf_opens_with_the_empty_password_or_is_one_line(tmp_path):
    from pypdf import PdfReader, PdfWriter

    def encrypted(user_password: str) -> bytes:
        writer = PdfWriter(clone_from=PdfReader(io.BytesIO(contract_pdf())))
        writer.encrypt(user_password, "owner-secret", algorithm="AES-128")
        out = io.BytesIO()
        writer.write(out)
        return out.getvalue()

    opened = passages_of(tmp_path, "no-edit.pdf", encrypted(""))
    assert [p.page_content for p in opened] == [p.page_content for p in passages_of(tmp_path, "msa.pdf", contract_pdf())]
    with pytest.raises(DocumentError, match=r"^\S*locked.pdf: encrypted: decrypt it first$"):
        passages_of(tmp_path, "locked.pdf", encrypted("user-secret"))


def test_a_pdf_without_text_or_cut_short_is_one_line(tmp_path):
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    scan = io.BytesIO()
    writer.write(scan)
    with pytest.raises(DocumentError, match=r"scan.pdf: no text layer — a scanned document\? run OCR first$"):
        passages_of(tmp_path, "scan.pdf", scan.getvalue())
    whole = contract_pdf()
    with pytest.raises(DocumentError, match=r"cut.pdf: a damaged or incomplete PDF \(.+\)$"):
        passages_of(tmp_path, "cut.pdf", whole[:len(whole) * 2 // 3])


# Word -------------------------------------------------------------------------------------------------------

def test_a_word_document_gives_its_headings_clauses_numbers_and_tables(tmp_path):
    passages = passages_of(tmp_path, "msa.docx", contract_docx())
    top = "Master Services Agreement"
    assert sections_and_texts(passages) == [
        (f"{top} › Commercial terms › 4. Term and Renewal › 4.3 Renewal price cap",
         f"{top} › Commercial terms › 4. Term and Renewal › 4.3 Renewal price cap\n"
         "Fees may rise by at most 5% at each renewal.\nPlan | Price\nTeam | $49 a month\nTo cancel:\n"
         "1. Call support\n2. Wait for the e-mail"),
        (f"{top} › Schedule of clauses numbered by Word › 7. Liability › 7.1 Cap",
         f"{top} › Schedule of clauses numbered by Word › 7. Liability › 7.1 Cap\n"
         "Liability is capped at the fees of 12 months."),
        (f"{top} › Schedule of clauses numbered by Word › 7. Liability › 7.2 Exclusions",
         f"{top} › Schedule of clauses numbered by Word › 7. Liability › 7.2 Exclusions\n"
         "Neither party is liable for indirect loss."),
    ]
    assert all("page" not in p.metadata for p in passages), "a Word file has no fixed pages"


def test_a_docx_that_is_no_zip_or_a_zip_bomb_is_one_line(tmp_path, monkeypatch):
    with pytest.raises(DocumentError, match=r"fake.docx: not a Word .docx document \(not a zip archive\)$"):
        passages_of(tmp_path, "fake.docx", b"PK but not really a zip archive")
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("word/document.xml", "w") as member:
            for _ in range(20):
                member.write(bytes(1 << 20))
    assert len(bomb.getvalue()) < 100_000
    with pytest.raises(DocumentError, match=r"bomb.docx: word/document.xml unpacks [\d,]+ times its size: a zip bomb\?$"):
        passages_of(tmp_path, "bomb.docx", bomb.getvalue())
    monkeypatch.setattr("bot.word_text.MAX_UNZIPPED_BYTES", 100_000)
    with pytest.raises(DocumentError, match=r"big.docx: unpacks to [\d,]+ bytes, more than the 100,000 Tandem unpacks"):
        passages_of(tmp_path, "big.docx", contract_docx())


# HTML, text, Markdown ---------------------------------------------------------------------------------------

def test_an_html_page_gives_its_headings_and_text_without_scripts_styles_or_navigation(tmp_path):
    page = ("<!doctype html><html><head><meta charset=\"iso-8859-1\"><title>Help</title>"
            "<style>p { color: red }</style></head><body><nav><a href=\"/\">Home</a> <a>Pricing</a></nav>"
            "<h1>Help centre</h1><script>var secret = 1;</script><h2>Refunds</h2>"
            "<p>Return a product within\n   30 days. <b>Caf\xe9</b> staff help.</p><!-- a comment -->"
            "<ul><li>Keep the receipt</li><li>Pack it well</li></ul>"
            "<table><tr><th>Plan</th><th>Price</th></tr><tr><td>Team</td><td>$49</td></tr></table>"
            "<h3>Fees</h3><p>4.3 Renewal price cap. Fees rise by 5% at most.</p><div hidden>invisible</div>"
            "</body></html>").encode("latin-1")
    assert sections_and_texts(passages_of(tmp_path, "help.html", page)) == [
        ("Help centre › Refunds", "Help centre › Refunds\nReturn a product within 30 days. Café staff help.\n"
                                  "Keep the receipt\nPack it well\nPlan | Price\nTeam | $49"),
        ("Help centre › Refunds › Fees › 4.3 Renewal price cap",
         "Help centre › Refunds › Fees › 4.3 Renewal price cap\nFees rise by 5% at most."),
    ]


def test_bad_text_an_empty_file_and_another_type_are_one_line_each(tmp_path):
    with pytest.raises(DocumentError, match=r"notes.txt:2: not valid UTF-8 \(byte 7\)$"):
        passages_of(tmp_path, "notes.txt", b"fine.\n\xff\xfe\n")
    with pytest.raises(DocumentError, match=r"empty.md: empty file$"):
        passages_of(tmp_path, "empty.md", b"\n  \n")
    with pytest.raises(DocumentError, match=r"sheet.xlsx: not a type Tandem reads \(it reads .pdf, .docx, .html, .htm, "
                                            r".md, .markdown, .txt\)$"):
        passages_of(tmp_path, "sheet.xlsx", b"PK")
    with pytest.raises(DocumentError, match=r"old.doc: not a type Tandem reads .*; save it as .docx$"):
        passages_of(tmp_path, "old.doc", b"\xd0\xcf")


def test_a_file_over_its_size_limit_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setattr("bot.documents.MAX_DOCUMENT_BYTES", 1000)
    with pytest.raises(DocumentError, match=r"msa.pdf: larger than 1,000 bytes, the most Tandem reads"):
        passages_of(tmp_path, "msa.pdf", contract_pdf())
    assert passages_of(tmp_path, "long.txt", "Text. " * 1000), "text files have the data files' limit"


# Reading a directory: the good files go in, each bad one is a line -----------------------------------------------

def test_good_files_next_to_bad_ones_still_go_in(tmp_path):
    (tmp_path / "contracts").mkdir()
    (tmp_path / "contracts" / "msa.pdf").write_bytes(contract_pdf())
    (tmp_path / "contracts" / "msa.docx").write_bytes(contract_docx())
    (tmp_path / "contracts" / "cut.pdf").write_bytes(contract_pdf()[:-100])
    (tmp_path / "faq.md").write_text("# FAQ\n\nShipping takes three days.\n")
    (tmp_path / "fake.docx").write_bytes(b"not a zip")
    (tmp_path / "photo.png").write_bytes(b"\x89PNG")
    (tmp_path / ".hidden.md").write_text("# Hidden\n\nNot read.\n")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "notes.md").write_text("# Git\n\nNot read.\n")
    (tmp_path / "~$msa.docx").write_bytes(b"a Word lock file")

    reading = read_documents([tmp_path])
    assert [record.source for record in reading.files] == ["contracts/msa.docx", "contracts/msa.pdf", "faq.md"]
    assert reading.files[2].sha256 == hashlib.sha256(b"# FAQ\n\nShipping takes three days.\n").hexdigest()
    assert sum(record.passages for record in reading.files) == len(reading.passages)
    assert [str(problem).split(": ", 1)[0] for problem in reading.problems] == [
        str(tmp_path / "contracts" / "cut.pdf"), str(tmp_path / "fake.docx"), str(tmp_path / "photo.png")]
    assert reading.summary() == f"read 3 files into {len(reading.passages)} passages; skipped 3 (listed above)"
    assert read_documents([tmp_path / "faq.md"]).summary() == "read 1 file into 1 passage"
    assert read_documents([tmp_path / "faq.md"]).passages[0].metadata == {"source": "faq.md", "section": "FAQ"}
    assert [str(p) for p in read_documents([tmp_path / "gone"]).problems] == [f"{tmp_path / 'gone'}: no such file or directory"]


def test_document_passages_reports_each_skipped_file_on_stderr_and_uses_the_rest(tmp_path, capsys):
    (tmp_path / "msa.pdf").write_bytes(contract_pdf())
    (tmp_path / "scan.pdf").write_bytes(b"%PDF-1.4\n%%EOF\n")
    passages = document_passages(tmp_path)
    assert {p.metadata["source"] for p in passages} == {"msa.pdf"}
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and err[0].startswith(f"tandem: skipped {tmp_path / 'scan.pdf'}: ")
    assert err[1] == f"tandem: {tmp_path}: read 1 file into {len(passages)} passages; skipped 1 (listed above)"

    (tmp_path / "msa.pdf").unlink()
    with pytest.raises(InputError, match="no passages for retrieval: every knowledge file was skipped"):
        document_passages(tmp_path)


def test_passages_keep_section_and_page_in_an_adapters_knowledge_file(tmp_path):
    passages = passages_of(tmp_path, "msa.pdf", contract_pdf())
    save_passages(passages, tmp_path / "knowledge.jsonl")
    back = read_passages(tmp_path / "knowledge.jsonl")
    assert [(p.page_content, p.metadata) for p in back] == [(p.page_content, p.metadata) for p in passages]
    (tmp_path / "old.jsonl").write_text('{"text": "An older adapter.", "source": "faq.md"}\n')
    assert [p.metadata for p in read_passages(tmp_path / "old.jsonl")] == [{"source": "faq.md"}]


# The commands that take --knowledge ---------------------------------------------------------------------------

def contracts_folder(tmp_path):
    folder = tmp_path / "contracts"
    folder.mkdir()
    (folder / "msa.pdf").write_bytes(contract_pdf())
    (folder / "msa.docx").write_bytes(contract_docx())
    return folder


def test_tandem_ask_answers_from_a_folder_of_pdf_and_word_files(tmp_path, echo_model, monkeypatch, capsys):
    from bot.cli import main

    monkeypatch.setattr("bot.chat_model.load_chat_model", lambda *args, **settings: echo_model)
    folder = contracts_folder(tmp_path)
    assert main(["ask", "How much may fees rise at renewal?", "--model", "a-base-model", "--knowledge", str(folder),
                 "--no-log"]) == 0
    system = next(m.content for m in echo_model.calls[-1][0] if m.type == "system")
    assert "4. Term and Renewal › 4.3 Renewal price cap\nFees may rise by at most 5% at each renewal" in system
    err = capsys.readouterr().err
    assert f"tandem: knowledge {folder} (index " in err and ": 2 added," in err


def test_training_and_evaluation_read_the_same_folder(tmp_path):
    from bot.retrieval import choose_knowledge
    from finetune.data import Example
    from finetune.grounding import domain_passages

    folder = contracts_folder(tmp_path)
    passages = domain_passages([Example("Is liability capped?", "Yes, at 12 months of fees.", source="qa:1")], folder)
    assert {p.metadata["source"] for p in passages} == {"msa.pdf", "msa.docx", "qa:1"}
    retriever = choose_knowledge(3, 1200, knowledge=folder)
    assert retriever.invoke("What is liability capped at?")[0].metadata == {
        "source": "msa.docx", "section": "Master Services Agreement › Schedule of clauses numbered by Word › "
                                         "7. Liability › 7.1 Cap"}
