// The Money page's texts, merged into the messages when its chunk loads (MoneyPage.vue).
const zh = {
  money: {
    title: '资金',
    exportHint: '导出近 30 天：', exportPayments: '导出支付', exportRefunds: '导出退款', exportDifferences: '导出对账差异',
    cases: '支付异常', reports: '对账', outbox: '投递失败',
    open: '待处理', resolved: '已处理',
    kind: '类型', order: '订单 ID', transaction: '微信支付单号', details: '详情', created: '创建时间',
    status: '状态', resolvedAt: '处理时间', actions: '操作',
    resolve: '标记已处理', resolvedOk: '支付异常 #{id} 已标记为已处理',
    resolveHint: '处理（退款、补单等）完成后再标记。',
    billDate: '账单日期', summary: '概况', differences: '差异', repairs: '已自动修复',
    noDifferences: '无差异',
    summaryText: '账单 {bill} 行，本系统支付 {paid} 笔，退款 {refunds} 笔',
    ref: '单号', ours: '本系统', bill: '微信账单', delta: '差额（账单 − 本系统）',
    reportStatus: { ok: '一致', differences: '有差异', failed: '失败' },
    diffKind: {
      missing_here: '账单有、本系统无（支付）',
      amount_differs: '金额不一致（支付）',
      missing_there: '本系统有、账单无（支付）',
      refund_missing_here: '账单有、本系统无（退款）',
      refund_amount_differs: '金额不一致（退款）',
      refund_missing_there: '本系统有、账单无（退款）',
    },
    attempts: '尝试次数', lastError: '最近错误', retry: '重新投递', retried: '已重新排队投递 #{id}',
    failed: '操作失败：{message}',
    network: '网络中断，请检查网络后重试。',
    conflict: '状态已变化：{message}',
  },
}

const en: typeof zh = {
  money: {
    title: 'Money',
    exportHint: 'Export the last 30 days:', exportPayments: 'Export payments', exportRefunds: 'Export refunds', exportDifferences: 'Export differences',
    cases: 'Payment cases', reports: 'Reconciliation', outbox: 'Failed deliveries',
    open: 'Open', resolved: 'Resolved',
    kind: 'Kind', order: 'Order id', transaction: 'WeChat Pay transaction', details: 'Details', created: 'Created',
    status: 'Status', resolvedAt: 'Resolved at', actions: 'Actions',
    resolve: 'Mark resolved', resolvedOk: 'Payment case #{id} marked resolved',
    resolveHint: 'Mark it once it is dealt with (refunded, order fixed…).',
    billDate: 'Bill date', summary: 'Summary', differences: 'Differences', repairs: 'Repaired automatically',
    noDifferences: 'No differences',
    summaryText: '{bill} bill rows; {paid} payments and {refunds} refunds here',
    ref: 'Number', ours: 'Here', bill: 'WeChat bill', delta: 'Difference (bill − here)',
    reportStatus: { ok: 'Matches', differences: 'Differences', failed: 'Failed' },
    diffKind: {
      missing_here: 'In the bill, not here (payment)',
      amount_differs: 'Amounts differ (payment)',
      missing_there: 'Here, not in the bill (payment)',
      refund_missing_here: 'In the bill, not here (refund)',
      refund_amount_differs: 'Amounts differ (refund)',
      refund_missing_there: 'Here, not in the bill (refund)',
    },
    attempts: 'Attempts', lastError: 'Last error', retry: 'Send again', retried: 'Delivery #{id} queued again',
    failed: 'Failed: {message}',
    network: 'Connection lost. Check the network and try again.',
    conflict: 'It changed meanwhile: {message}',
  },
}

export default { 'zh-CN': zh, en }
