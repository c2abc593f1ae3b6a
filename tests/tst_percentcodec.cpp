#include "http/percentcodec.h"

#include <QTest>

using namespace kvdesk;

class TestPercentCodec : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void decodesKeys_data()
    {
        QTest::addColumn<QByteArray>("raw");
        QTest::addColumn<bool>("ok");
        QTest::addColumn<QByteArray>("decoded");
        QTest::newRow("plain") << QByteArray("abc") << true << QByteArray("abc");
        QTest::newRow("empty") << QByteArray("") << true << QByteArray("");
        QTest::newRow("escape first and last") << QByteArray("%41bc%44") << true << QByteArray("AbcD");
        QTest::newRow("slash kept") << QByteArray("users/42/profile") << true
                                    << QByteArray("users/42/profile");
        QTest::newRow("encoded slash") << QByteArray("a%2Fb") << true << QByteArray("a/b");
        QTest::newRow("lower-case hex") << QByteArray("a%2fb") << true << QByteArray("a/b");
        QTest::newRow("utf8") << QByteArray("caf%C3%A9") << true << QByteArray("caf\xc3\xa9");
        QTest::newRow("plus stays plus") << QByteArray("a+b") << true << QByteArray("a+b");
        QTest::newRow("encoded percent") << QByteArray("100%25") << true << QByteArray("100%");
        QTest::newRow("bad hex") << QByteArray("a%zz") << false << QByteArray();
        QTest::newRow("half escape") << QByteArray("a%4") << false << QByteArray();
        QTest::newRow("lone percent") << QByteArray("%") << false << QByteArray();
    }
    void decodesKeys()
    {
        QFETCH(QByteArray, raw);
        QFETCH(bool, ok);
        QFETCH(QByteArray, decoded);
        QString error;
        const auto result = PercentCodec::decode(raw, false, &error);
        QCOMPARE(bool(result), ok);
        if (ok)
            QCOMPARE(*result, decoded);
        else
            QVERIFY(!error.isEmpty());
    }

    void validatesUtf8_data()
    {
        QTest::addColumn<QByteArray>("bytes");
        QTest::addColumn<bool>("valid");
        QTest::newRow("ascii") << QByteArray("abc") << true;
        QTest::newRow("two byte") << QByteArray("\xc3\xa9") << true;
        QTest::newRow("emoji") << QByteArray("\xf0\x9f\x98\x80") << true;
        QTest::newRow("lone continuation") << QByteArray("\x80") << false;
        QTest::newRow("truncated") << QByteArray("\xe2\x82") << false;
        QTest::newRow("overlong") << QByteArray("\xe0\x80\xaf") << false;
        QTest::newRow("surrogate") << QByteArray("\xed\xa0\x80") << false;
        QTest::newRow("above max") << QByteArray("\xf4\x90\x80\x80") << false;
        QTest::newRow("ff") << QByteArray("\xff") << false;
    }
    void validatesUtf8()
    {
        QFETCH(QByteArray, bytes);
        QFETCH(bool, valid);
        QCOMPARE(PercentCodec::isValidUtf8(bytes), valid);
    }

    void decodesQueries()
    {
        QString error;
        const auto pairs = PercentCodec::decodeQuery("prefix=a%2Fb+c&limit=10&&flag", &error);
        QVERIFY(pairs);
        QCOMPARE(pairs->size(), 3);
        QCOMPARE(pairs->at(0).second, QStringLiteral("a/b c"));
        QCOMPARE(pairs->at(1).second, QStringLiteral("10"));
        QCOMPARE(pairs->at(2).first, QStringLiteral("flag"));
        // A plus without any percent-escape is a space too.
        const auto plus = PercentCodec::decodeQuery("prefix=a+b", &error);
        QVERIFY(plus);
        QCOMPARE(plus->at(0).second, QStringLiteral("a b"));
        QVERIFY(!PercentCodec::decodeQuery("prefix=%zz", &error));
        QVERIFY(!PercentCodec::decodeQuery("prefix=%ff", &error));
    }
};

QTEST_GUILESS_MAIN(TestPercentCodec)
#include "tst_percentcodec.moc"
