#include "util/jsonscanner.h"

#include <QTest>

#include <optional>

using namespace kvdesk;

class TestJsonScanner : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void validates_data()
    {
        QTest::addColumn<QByteArray>("text");
        QTest::addColumn<bool>("valid");
        QTest::newRow("object") << QByteArray(R"({"a": [1, 2.5, -3e10, true, false, null, "x"]})") << true;
        QTest::newRow("string") << QByteArray(R"("héllo \u00e9 \n")") << true;
        QTest::newRow("number") << QByteArray("  42 ") << true;
        QTest::newRow("big integer") << QByteArray("123456789012345678901234567890") << true;
        QTest::newRow("surrogate escape pair") << QByteArray(R"("\ud83d\ude00")") << true;
        QTest::newRow("empty") << QByteArray("") << false;
        QTest::newRow("trailing comma") << QByteArray("[1,]") << false;
        QTest::newRow("leading zero") << QByteArray("01") << false;
        QTest::newRow("bare dot") << QByteArray("1.") << false;
        QTest::newRow("single quotes") << QByteArray("'a'") << false;
        QTest::newRow("unterminated") << QByteArray("{\"a\": \"b") << false;
        QTest::newRow("control char") << QByteArray("\"a\x01\"") << false;
        QTest::newRow("bad escape") << QByteArray(R"("\x")") << false;
        QTest::newRow("bad unicode escape") << QByteArray(R"("\u12g4")") << false;
        QTest::newRow("two values") << QByteArray("1 2") << false;
        QTest::newRow("invalid utf8") << QByteArray("\"\xff\"") << false;
        QTest::newRow("overlong utf8") << QByteArray("\"\xc0\xaf\"") << false;
        QTest::newRow("utf8 surrogate") << QByteArray("\"\xed\xa0\x80\"") << false;
        QTest::newRow("NaN") << QByteArray("NaN") << false;
        QTest::newRow("truncated literal") << QByteArray("tru") << false;
        QTest::newRow("too deep") << QByteArray(600, '[') + QByteArray(600, ']') << false;
        QTest::newRow("deep but allowed") << QByteArray(500, '[') + QByteArray(500, ']') << true;
    }
    void validates()
    {
        QFETCH(QByteArray, text);
        QFETCH(bool, valid);
        JsonScanner::Error error;
        QCOMPARE(JsonScanner::validate(text, &error), valid);
        if (!valid)
            QVERIFY(!error.message.isEmpty());
    }

    void membersKeepExactText()
    {
        const QByteArray body = R"( { "value" : {"n": 12345678901234567890, "s": "x"} , "ttl": 60 } )";
        const auto members = JsonScanner::objectMembers(body);
        QVERIFY(members);
        QCOMPARE(members->size(), 2);
        QCOMPARE(members->at(0).name, QStringLiteral("value"));
        QCOMPARE(members->at(0).value.toByteArray(), QByteArray(R"({"n": 12345678901234567890, "s": "x"})"));
        QCOMPARE(members->at(1).value.toByteArray(), QByteArray("60"));
    }

    void memberNamesAreUnescaped()
    {
        const auto members = JsonScanner::objectMembers(R"({"val\u0075e": 1})");
        QVERIFY(members);
        QCOMPARE(members->at(0).name, QStringLiteral("value"));
        // Names longer than eight bytes, plain or with an escape or UTF-8 after a plain stretch.
        const auto more = JsonScanner::objectMembers("{\"a_plain_long_name\": 1, \"a_long_name_then\\n\": 2, "
                                                     "\"a_long_name_caf\xc3\xa9!\": 3, \"\": 4}");
        QVERIFY(more);
        QCOMPARE(more->size(), 4);
        QCOMPARE(more->at(0).name, QStringLiteral("a_plain_long_name"));
        QCOMPARE(more->at(1).name, QStringLiteral("a_long_name_then\n"));
        QCOMPARE(more->at(2).name, QString::fromUtf8("a_long_name_caf\xc3\xa9!"));
        QCOMPARE(more->at(3).name, QString());
        QCOMPARE(more->at(3).value.toByteArray(), QByteArray("4"));
        // A name that ends the text is still an error, wherever the plain stretch stops.
        QVERIFY(!JsonScanner::objectMembers("{\"a_plain_long_name"));
        QVERIFY(!JsonScanner::objectMembers("{\"a_plain_long_name\\"));
        QVERIFY(!JsonScanner::objectMembers("{\"a_plain_long_name\x01\": 1}"));
    }

    // A string's plain bytes are skipped a word at a time: whatever byte stops them (the closing
    // quote, an escape, UTF-8, a control character, bad UTF-8, the end of the text), at any place in
    // a word and with any number of plain bytes after it, is read as a byte-by-byte reader would.
    void stringsAreReadWhereverAStretchOfPlainBytesStops()
    {
        for (int before = 0; before <= 17; ++before) {
            for (int after = 0; after <= 9; ++after) {
                const QByteArray head(before, 'p');
                const QByteArray tail(after, 'q');
                const QString plain = QString::fromLatin1(head);
                const QString end = QString::fromLatin1(tail);
                const auto nameOf = [](const QByteArray &quoted) -> std::optional<QString> {
                    // Kept while the members are read: their values point into it.
                    const QByteArray object = "{" + quoted + ": 1}";
                    const auto members = JsonScanner::objectMembers(object);
                    if (!members || members->size() != 1 || members->at(0).value != "1")
                        return std::nullopt;
                    return members->at(0).name;
                };
                const QByteArray ends = '"' + head + '"';
                QVERIFY(JsonScanner::validate(ends));
                QCOMPARE(nameOf(ends), std::optional<QString>(plain));

                const QByteArray escaped = '"' + head + "\\n" + tail + '"';
                QVERIFY2(JsonScanner::validate(escaped), escaped.constData());
                QCOMPARE(nameOf(escaped), std::optional<QString>(plain + u'\n' + end));

                const QByteArray utf8 = '"' + head + "\xc3\xa9" + tail + '"';
                QVERIFY2(JsonScanner::validate(utf8), utf8.constData());
                QCOMPARE(nameOf(utf8), std::optional<QString>(plain + QChar(0xe9) + end));

                // Errors name the byte that stops the stretch: column 1 is the opening quote.
                for (const char bad : {'\x01', '\x1f', '\xff'}) {
                    const QByteArray text = '"' + head + bad + tail + '"';
                    JsonScanner::Error error;
                    QVERIFY2(!JsonScanner::validate(text, &error), text.toHex().constData());
                    QCOMPARE(error.column, before + 2);
                    QVERIFY(!nameOf(text));
                }
                const QByteArray unterminated = '"' + head + tail;
                JsonScanner::Error error;
                QVERIFY(!JsonScanner::validate(unterminated, &error));
                QCOMPARE(error.message, QStringLiteral("unterminated string"));
                QVERIFY(!nameOf(unterminated));
            }
        }
    }

    void notAnObjectIsReported()
    {
        JsonScanner::Error error;
        QVERIFY(!JsonScanner::objectMembers("[1,2]", &error));
        QVERIFY(error.message.contains(QStringLiteral("object")));
    }

    void errorsNameLineAndColumn()
    {
        JsonScanner::Error error;
        QVERIFY(!JsonScanner::validate("{\n  \"a\": tru\n}", &error));
        QCOMPARE(error.line, 2);
        QCOMPARE(error.column, 8);
    }
};

QTEST_GUILESS_MAIN(TestJsonScanner)
#include "tst_jsonscanner.moc"
