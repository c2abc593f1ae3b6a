#include "http/httpframer.h"

#include <QTest>

using namespace kvdesk;

namespace {

struct Outcome
{
    int heads = 0;
    int completes = 0;
    int violation = 0;
    RequestHead lastHead;
    QList<QByteArray> bodies;
};

Outcome run(const QByteArray &input, int chunk = 0, HttpFramer::Limits limits = {})
{
    HttpFramer framer(limits);
    Outcome outcome;
    const int step = chunk > 0 ? chunk : int(input.size());
    for (qsizetype i = 0; i < input.size(); i += step) {
        for (const auto &e :
             framer.feed(QByteArrayView(input).sliced(i, std::min<qsizetype>(step, input.size() - i)))) {
            if (e.type == HttpFramer::Event::Type::Head) {
                ++outcome.heads;
                outcome.lastHead = e.head;
            } else if (e.type == HttpFramer::Event::Type::Complete) {
                ++outcome.completes;
                outcome.bodies.append(e.body);
            } else {
                outcome.violation = e.violation.status;
            }
        }
    }
    return outcome;
}

} // namespace

class TestHttpFramer : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void frames_data()
    {
        QTest::addColumn<QByteArray>("input");
        QTest::addColumn<int>("completes");
        QTest::addColumn<int>("violation");
        QTest::newRow("get") << QByteArray("GET / HTTP/1.1\r\nHost: x\r\n\r\n") << 1 << 0;
        QTest::newRow("leading empty line") << QByteArray("\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n") << 1 << 0;
        QTest::newRow("content-length body")
            << QByteArray("PUT /a HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc") << 1 << 0;
        QTest::newRow("pipelined") << QByteArray("GET /a HTTP/1.1\r\n\r\nPUT /b HTTP/1.1\r\nContent-Length: "
                                                 "2\r\n\r\nxyGET /c HTTP/1.0\r\n\r\n")
                                   << 3 << 0;
        QTest::newRow("chunked") << QByteArray(
                                        "PUT /a HTTP/1.1\r\nTransfer-Encoding: "
                                        "chunked\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nTrailer: t\r\n\r\n")
                                 << 1 << 0;
        QTest::newRow("bare LF") << QByteArray("GET / HTTP/1.1\nHost: x\n\n") << 0 << 400;
        QTest::newRow("bare CR") << QByteArray("GET / HTTP/1.1\rHost: x\r\n\r\n") << 0 << 400;
        QTest::newRow("length and chunked")
            << QByteArray("PUT / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n") << 0
            << 400;
        QTest::newRow("two lengths")
            << QByteArray("PUT / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n") << 0 << 400;
        QTest::newRow("signed length")
            << QByteArray("PUT / HTTP/1.1\r\nContent-Length: +3\r\n\r\n") << 0 << 400;
        QTest::newRow("gzip encoding")
            << QByteArray("PUT / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n") << 0 << 501;
        QTest::newRow("obs-fold") << QByteArray("GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n") << 0 << 400;
        QTest::newRow("space before colon") << QByteArray("GET / HTTP/1.1\r\nHost : x\r\n\r\n") << 0 << 400;
        QTest::newRow("unknown method") << QByteArray("BREW / HTTP/1.1\r\n\r\n") << 0 << 501;
        QTest::newRow("http/2 line") << QByteArray("GET / HTTP/2.0\r\n\r\n") << 0 << 505;
        QTest::newRow("garbage") << QByteArray("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n") << 0
                                 << 400;
        QTest::newRow("absolute form") << QByteArray("GET http://x/ HTTP/1.1\r\n\r\n") << 0 << 400;
        QTest::newRow("space in target") << QByteArray("GET /a b HTTP/1.1\r\n\r\n") << 0 << 400;
        QTest::newRow("NUL") << QByteArray("GET /\0 HTTP/1.1\r\n\r\n", 20) << 0 << 400;
        QTest::newRow("bad chunk size")
            << QByteArray("PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n") << 0 << 400;
        QTest::newRow("missing chunk CRLF")
            << QByteArray("PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n") << 0 << 400;
        QTest::newRow("control in a value") << QByteArray("GET / HTTP/1.1\r\nA: b\x01c\r\n\r\n") << 0 << 400;
        QTest::newRow("DEL in a value") << QByteArray("GET / HTTP/1.1\r\nA: b\x7f\r\n\r\n") << 0 << 400;
        QTest::newRow("tab and UTF-8 in a value")
            << QByteArray("GET / HTTP/1.1\r\nA:\tb\xc3\xa9 c\t\r\n\r\n") << 1 << 0;
        QTest::newRow("CR inside a line") << QByteArray("GET / HTTP/1.1\r\nA: b\rc\r\n\r\n") << 0 << 400;
        QTest::newRow("LF after text") << QByteArray("GET / HTTP/1.1\r\nA: b\n\r\n") << 0 << 400;
        QTest::newRow("empty transfer-encoding")
            << QByteArray("PUT / HTTP/1.1\r\nTransfer-Encoding:\r\n\r\n") << 0 << 501;
        QTest::newRow("two transfer-encodings")
            << QByteArray(
                   "PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n")
            << 0 << 501;
        QTest::newRow("expect other") << QByteArray("PUT / HTTP/1.1\r\nExpect: 200-ok\r\n\r\n") << 0 << 417;
    }
    void frames()
    {
        QFETCH(QByteArray, input);
        QFETCH(int, completes);
        QFETCH(int, violation);
        // Byte by byte and all at once must agree.
        for (int chunk : {0, 1, 7}) {
            const Outcome o = run(input, chunk);
            QCOMPARE(o.completes, completes);
            QCOMPARE(o.violation, violation);
        }
    }

    void readsTheBodies_data()
    {
        QTest::addColumn<QByteArray>("input");
        QTest::addColumn<QList<QByteArray>>("bodies");
        QTest::newRow("none") << QByteArray("GET / HTTP/1.1\r\n\r\n") << QList<QByteArray>{""};
        QTest::newRow("content-length")
            << QByteArray("PUT /a HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc") << QList<QByteArray>{"abc"};
        QTest::newRow("chunked, extensions and trailer dropped")
            << QByteArray("PUT /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n"
                          "0\r\nTrailer: t\r\n\r\n")
            << QList<QByteArray>{"abcde"};
        QTest::newRow("CRLF inside a chunk")
            << QByteArray("PUT /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4\r\na\r\nb\r\n0\r\n\r\n")
            << QList<QByteArray>{"a\r\nb"};
        QTest::newRow("pipelined, each its own")
            << QByteArray("PUT /a HTTP/1.1\r\nContent-Length: 2\r\n\r\nxyGET /b HTTP/1.1\r\n\r\n"
                          "PUT /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nz\r\n0\r\n\r\n"
                          "PUT /d HTTP/1.1\r\nContent-Length: 4\r\n\r\nGET ")
            << QList<QByteArray>{"xy", "", "z", "GET "};
    }
    void readsTheBodies()
    {
        QFETCH(QByteArray, input);
        QFETCH(QList<QByteArray>, bodies);
        for (int chunk : {0, 1, 5}) {
            const Outcome o = run(input, chunk);
            QCOMPARE(o.violation, 0);
            QCOMPARE(o.bodies, bodies);
        }
    }

    void readsTheHead()
    {
        const Outcome o =
            run("PUT /v1/kv/a?x=1 HTTP/1.1\r\nHost: h\r\nConnection: close\r\nExpect: 100-continue\r\n"
                "Content-Length: 5\r\n\r\n");
        QCOMPARE(o.heads, 1);
        QCOMPARE(o.completes, 0);
        QCOMPARE(o.lastHead.method, QByteArray("PUT"));
        QCOMPARE(o.lastHead.target, QByteArray("/v1/kv/a?x=1"));
        QCOMPARE(o.lastHead.header("host"), QByteArray("h"));
        QCOMPARE(o.lastHead.contentLength, 5);
        QVERIFY(o.lastHead.expectContinue);
        QVERIFY(!o.lastHead.keepAlive);

        // Names match without regard to case, values come trimmed, the first of two wins, and an
        // empty or absent field reads as empty.
        const Outcome fields = run("GET / HTTP/1.1\r\nX-Token:  \t a b \t\r\nx-token: second\r\n"
                                   "Empty:\r\nConnection: Keep-Alive, Upgrade\r\n\r\n");
        QCOMPARE(fields.lastHead.header("x-token"), QByteArray("a b"));
        QCOMPARE(fields.lastHead.header("empty"), QByteArray());
        QCOMPARE(fields.lastHead.header("absent"), QByteArray());
        QCOMPARE(fields.lastHead.header("connection"), QByteArray("Keep-Alive, Upgrade"));
        QVERIFY(fields.lastHead.keepAlive);
        QCOMPARE(fields.lastHead.fields.size(), 4);
    }

    void http10KeepAliveOnlyWhenAsked()
    {
        QVERIFY(!run("GET / HTTP/1.0\r\n\r\n").lastHead.keepAlive);
        QVERIFY(run("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").lastHead.keepAlive);
        QVERIFY(run("GET / HTTP/1.1\r\n\r\n").lastHead.keepAlive);
    }

    void enforcesLimits()
    {
        HttpFramer::Limits limits;
        limits.maxBodyBytes = 10;
        limits.maxHeaderBytes = 200;
        limits.maxHeaderCount = 5;
        QCOMPARE(run("PUT / HTTP/1.1\r\nContent-Length: 11\r\n\r\n", 0, limits).violation, 413);
        QCOMPARE(run("PUT / HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123456789", 0, limits).violation, 0);
        QCOMPARE(run("PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nabcdef\r\n6\r\nabcdef\r\n", 3,
                     limits)
                     .violation,
                 413);
        QByteArray many = "GET / HTTP/1.1\r\n";
        for (int i = 0; i < 6; ++i)
            many += "X-" + QByteArray::number(i) + ": v\r\n";
        QCOMPARE(run(many + "\r\n", 0, limits).violation, 431);
        QCOMPARE(run("GET / HTTP/1.1\r\nX: " + QByteArray(300, 'a') + "\r\n\r\n", 1, limits).violation, 431);
    }

    void inRequestTracksPartialRequests()
    {
        HttpFramer framer({});
        QVERIFY(!framer.inRequest());
        framer.feed("GET / HT");
        QVERIFY(framer.inRequest());
        framer.feed("TP/1.1\r\n\r\n");
        QVERIFY(!framer.inRequest());
    }
};

QTEST_GUILESS_MAIN(TestHttpFramer)
#include "tst_httpframer.moc"
