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
