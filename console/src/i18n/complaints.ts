// The Complaints page's texts, merged into the messages when its chunk loads (ComplaintsPage.vue).
const zh = {
  complaints: {
    title: '微信支付投诉',
    intro: '顾客在微信支付发起的投诉（消费者投诉2.0），按时间倒序。请尽快回复：首次回复时间会被统计。',
    summary: '近 {days} 天：共 {total} 条，未完结 {open} 条，未回复 {unanswered} 条（超过 24 小时 {late} 条）；平均首次回复 {avg}，最长 {max}。',
    time: '投诉时间', order: '订单', problem: '问题', status: '状态', firstResponse: '首次回复',
    detail: '投诉内容', amount: '金额', refundAsked: '申请退款', open: '查看', notAnswered: '未回复',
    userWaiting: '顾客有新留言', phone: '投诉人电话', history: '协商记录', noOrder: '未关联订单',
    reply: '回复顾客', replyHint: '最多 200 字，顾客会在微信里看到。', send: '发送回复',
    complete: '反馈处理完成', completeHint: '需先回复顾客。完成后顾客可确认或继续投诉。',
    approve: '同意退款', reject: '拒绝退款', days: '几个工作日内发起退款', rejectReason: '拒绝原因',
    sent: '已发送。', completed: '已反馈处理完成。', refundDone: '已提交退款审批结果。',
    afterSale: '售后单', all: '全部',
    statuses: { pending: '待处理', processing: '处理中', processed: '已处理' },
    problems: { REFUND: '申请退款', SERVICE_NOT_WORK: '服务未生效', OTHERS: '其他' },
    units: { day: '天', hour: '小时', minute: '分', second: '秒', sep: '' },
  },
}

const en: typeof zh = {
  complaints: {
    title: 'WeChat Pay complaints',
    intro: 'Complaints payers filed with WeChat Pay (消费者投诉2.0), newest first. Answer soon: the first-response time is measured.',
    summary: 'Last {days} days: {total} in all, {open} open, {unanswered} unanswered ({late} for over 24 h); first response {avg} on average, {max} at most.',
    time: 'Filed', order: 'Order', problem: 'Problem', status: 'Status', firstResponse: 'First response',
    detail: 'Complaint', amount: 'Amount', refundAsked: 'Refund asked', open: 'Open', notAnswered: 'Not answered',
    userWaiting: 'New message from the payer', phone: 'Payer phone', history: 'Negotiation history', noOrder: 'No order linked',
    reply: 'Answer the payer', replyHint: 'Up to 200 characters, shown to the payer in WeChat.', send: 'Send',
    complete: 'Report it handled', completeHint: 'Answer first. The payer may then confirm or complain again.',
    approve: 'Approve refund', reject: 'Reject refund', days: 'Refund starts within (working days)', rejectReason: 'Reason',
    sent: 'Sent.', completed: 'Reported as handled.', refundDone: 'Refund decision sent.',
    afterSale: 'After-sale', all: 'All',
    statuses: { pending: 'Pending', processing: 'Processing', processed: 'Processed' },
    problems: { REFUND: 'Refund', SERVICE_NOT_WORK: 'Service not working', OTHERS: 'Other' },
    units: { day: ' d', hour: ' h', minute: ' min', second: ' s', sep: ' ' },
  },
}

export default { 'zh-CN': zh, en }
