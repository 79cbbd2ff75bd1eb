// The after-sales page's texts, merged into the messages when its chunk loads (AfterSalesPage.vue).
const zh = {
  aftersales: {
    title: '售后',
    intro: '按截止时间排序：最先到期的在最上面。仅退款批准后立即退款；退货退款、换货和到店退货需收到商品。',
    no: '售后单号', order: '订单', kind: '类型', status: '状态', refund: '退款金额', deadline: '截止时间',
    reason: '原因', store: '门店', actions: '操作', items: '商品', qty: '数量', received: '收到', resellable: '可再售',
    open: '查看', approve: '批准', reject: '拒绝', receive: '确认收货', close: '关闭',
    note: '说明', noteRequired: '请填写原因。',
    approved: '售后 {no} 已批准', rejected: '售后 {no} 已拒绝', receivedOk: '售后 {no} 已收货', closedOk: '售后 {no} 已关闭',
    receiveHint: '填写实际收到的数量，以及其中可以再次销售的数量（只有可再售的会回到库存）。',
    carrier: '退货物流', none: '暂无待处理的售后',
    kinds: { refund_only: '仅退款', return_refund: '退货退款', exchange: '换货', return_at_store: '到店退货' },
    statuses: {
      requested: '待处理', approved: '已批准', rejected: '已拒绝', cancelled: '已撤销', refunding: '退款中',
      awaiting_return: '待退货', return_shipped: '退货已寄出', received: '已收货', receipt_refused: '拒收',
      replacing: '换货中', exchanged: '已换货', refunded: '已退款', refund_failed: '退款失败', escalated: '已升级',
      closed: '已关闭',
    },
    failed: '操作失败：{message}', network: '网络中断，请检查网络后重试。', conflict: '状态已变化：{message}',
  },
}

const en: typeof zh = {
  aftersales: {
    title: 'After-sales',
    intro: 'By deadline: the nearest first. A refund-only request is refunded once approved; returns, exchanges and returns at the store wait for the goods.',
    no: 'After-sale', order: 'Order', kind: 'Kind', status: 'Status', refund: 'Refund', deadline: 'Deadline',
    reason: 'Reason', store: 'Store', actions: 'Actions', items: 'Items', qty: 'Qty', received: 'Received', resellable: 'Resellable',
    open: 'Open', approve: 'Approve', reject: 'Reject', receive: 'Receive', close: 'Close',
    note: 'Note', noteRequired: 'Say why.',
    approved: 'After-sale {no} approved', rejected: 'After-sale {no} rejected', receivedOk: 'After-sale {no} received', closedOk: 'After-sale {no} closed',
    receiveHint: 'Enter how many units arrived and how many of them can be sold again (only those go back to stock).',
    carrier: 'Return parcel', none: 'No after-sales waiting',
    kinds: { refund_only: 'Refund only', return_refund: 'Return and refund', exchange: 'Exchange', return_at_store: 'Return at the store' },
    statuses: {
      requested: 'Requested', approved: 'Approved', rejected: 'Rejected', cancelled: 'Cancelled', refunding: 'Refunding',
      awaiting_return: 'Awaiting return', return_shipped: 'Return shipped', received: 'Received', receipt_refused: 'Receipt refused',
      replacing: 'Replacing', exchanged: 'Exchanged', refunded: 'Refunded', refund_failed: 'Refund failed', escalated: 'Escalated',
      closed: 'Closed',
    },
    failed: 'That failed: {message}', network: 'The network is down. Check it and try again.', conflict: 'It changed meanwhile: {message}',
  },
}

export default { 'zh-CN': zh, en }
