#include "requestlogmodel.h"

#include <QBrush>
#include <QColor>
#include <QDateTime>

namespace kvdesk {

RequestLogModel::RequestLogModel(int capacity, QObject *parent)
    : QAbstractTableModel(parent), m_capacity(capacity)
{}

void RequestLogModel::append(const QList<AccessLogEntry> &entries)
{
    if (entries.isEmpty())
        return;
    qsizetype skip = std::max<qsizetype>(0, entries.size() - m_capacity);
    const int incoming = int(entries.size() - skip);
    const int overflow = int(m_entries.size()) + incoming - m_capacity;
    if (overflow > 0) {
        beginRemoveRows({}, 0, overflow - 1);
        m_entries.erase(m_entries.begin(), m_entries.begin() + overflow);
        endRemoveRows();
    }
    const int first = int(m_entries.size());
    beginInsertRows({}, first, first + incoming - 1);
    for (qsizetype i = skip; i < entries.size(); ++i)
        m_entries.push_back(entries[i]);
    endInsertRows();
}

void RequestLogModel::clear()
{
    beginResetModel();
    m_entries.clear();
    endResetModel();
}

int RequestLogModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_entries.size());
}

int RequestLogModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant RequestLogModel::data(const QModelIndex &index, int role) const
{
    if (!index.isValid())
        return {};
    const AccessLogEntry &e = m_entries[size_t(index.row())];
    if (role == Qt::ForegroundRole && index.column() == StatusColumn) {
        if (e.status >= 500)
            return QBrush(QColor(0xb0, 0x00, 0x20));
        if (e.status >= 400)
            return QBrush(QColor(0xb2, 0x4a, 0x00));
        return {};
    }
    if (role == Qt::TextAlignmentRole && (index.column() == StatusColumn || index.column() == LatencyColumn))
        return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
    if (role == FilterRole && (index.column() == TimeColumn || index.column() == LatencyColumn))
        return {};
    if (role != Qt::DisplayRole && role != Qt::ToolTipRole && role != FilterRole)
        return {};
    switch (index.column()) {
    case TimeColumn:
        return QDateTime::fromMSecsSinceEpoch(e.timeMs).toString(QStringLiteral("HH:mm:ss.zzz"));
    case ClientColumn:
        return e.client;
    case MethodColumn:
        return QString::fromLatin1(e.method);
    case PathColumn:
        return QString::fromUtf8(e.path);
    case StatusColumn:
        return e.status;
    case LatencyColumn:
        return tr("%1 ms").arg(e.elapsedMs, 0, 'f', 2);
    default:
        return {};
    }
}

QVariant RequestLogModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case TimeColumn:
        return tr("Time");
    case ClientColumn:
        return tr("Client");
    case MethodColumn:
        return tr("Method");
    case PathColumn:
        return tr("Path");
    case StatusColumn:
        return tr("Status");
    case LatencyColumn:
        return tr("Latency");
    default:
        return {};
    }
}

} // namespace kvdesk
