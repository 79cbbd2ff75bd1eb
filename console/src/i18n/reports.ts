// The dashboard's figures (DashboardPage.vue), merged when its chunk loads.
const zh = {
  report: {
    today: '今日', todayAsOf: '今日（截至 {time}）', last30: '近 30 天',
    placed: '下单', paid: '付款订单', paid_fen: '成交额', picked_up: '已提货', refunded_fen: '退款金额', net_fen: '净收入',
    refunds: '退款笔数', average_order_fen: '客单价', delivered: '已送达', cancelled: '已取消',
    vsYesterday: '较昨日 {change}', vsPrevious: '较前 30 天 {change}', noBefore: '前期无数据',
    store: '门店', allStores: '合计',
    gmv: '成交额（元）', paidOrders: '付款订单', pickedUp: '已提货订单',
    failed: '数据加载失败：{message}', network: '无法连接服务器，请检查网络后重试。', retry: '重试',
    todo: '待办',
    note: '按上海时间的自然日统计；过去的日期每小时重算一次，退款计入退款成功的那一天。',
  },
}

const en: typeof zh = {
  report: {
    today: 'Today', todayAsOf: 'Today (as of {time})', last30: 'Last 30 days',
    placed: 'Placed', paid: 'Paid orders', paid_fen: 'GMV', picked_up: 'Picked up', refunded_fen: 'Refunded', net_fen: 'Net revenue',
    refunds: 'Refunds', average_order_fen: 'Average order', delivered: 'Delivered', cancelled: 'Cancelled',
    vsYesterday: '{change} vs yesterday', vsPrevious: '{change} vs the 30 days before', noBefore: 'nothing before',
    store: 'Store', allStores: 'Total',
    gmv: 'GMV (¥)', paidOrders: 'Paid orders', pickedUp: 'Picked up',
    failed: 'Could not load the figures: {message}', network: 'Cannot reach the server; check the network and retry.', retry: 'Retry',
    todo: 'To do',
    note: 'Calendar days in Shanghai time; past days are recomputed hourly; a refund counts on the day it succeeded.',
  },
}

export default { 'zh-CN': zh, en }
