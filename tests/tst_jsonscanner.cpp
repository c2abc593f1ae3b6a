#include "util/jsonscanner.h"

#include <QTest>

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
