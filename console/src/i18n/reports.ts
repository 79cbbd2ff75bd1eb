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
  reports: {
    title: '经营报表', range: '日期', apply: '查询', csv: '导出 CSV',
    sales: '销售', vsPrevious: '较上一周期 {change}', previousRange: '上一周期：{from} 至 {to}',
    steps: '各环节耗时', stepsIntro: '每个环节 50% 与 90% 的订单在多长时间内完成（误差 ±5%）。90 分位远高于其他门店或本店以往（超过 2 倍）的标为瓶颈。',
    step: '环节', samples: '订单数', p50: '一半订单在', p90: '九成订单在', usual: '通常', bottleneck: '瓶颈',
    stepNames: { pay: '下单→付款', ready: '付款→备好', pickup: '备好→提货', ship: '付款→发货', deliver: '发货→送达' },
    heatmap: '各门店九成订单耗时（分钟）', noSamples: '无数据',
    vsStores: '高于其他门店', vsOwnPast: '高于本店以往',
    bottleneckLine: '{store}：{step} 九成订单在 {p90} 内（通常 {usual}）',
    products: '商品排行', product: '商品', alerts: '库存预警',
    sorts: { units: '销量', gmv_fen: '成交额', refund_rate: '退款率', closed_s: '停售时长' },
    funnel: '订单漏斗', funnelIntro: '所选日期内下单的订单现在的去向。',
    stages: { placed: '下单', paid: '付款', prepared: '备货/发货', collected: '提货/送达', kept: '未退款' },
    losses: { lost_unpaid: '未付款取消', lost_expired: '超时未提', lost_refunded: '全额退款' },
    share: '占下单 {share}%', duration: { d: '{n}天', h: '{n}小时', m: '{n}分', lessThanMinute: '不到 1 分钟' },
    failed: '报表加载失败：{message}', network: '无法连接服务器，请检查网络后重试。',
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
  reports: {
    title: 'Reports', range: 'Dates', apply: 'Show', csv: 'Export CSV',
    sales: 'Sales', vsPrevious: '{change} vs the period before', previousRange: 'Period before: {from} to {to}',
    steps: 'Time in each step', stepsIntro: 'How long half and nine in ten orders took for each step (±5 %). A store whose 90th percentile is over twice the other stores\' or its own past is flagged.',
    step: 'Step', samples: 'Orders', p50: 'Half within', p90: 'Nine in ten within', usual: 'Usually', bottleneck: 'Bottleneck',
    stepNames: { pay: 'Placed → paid', ready: 'Paid → ready', pickup: 'Ready → picked up', ship: 'Paid → shipped', deliver: 'Shipped → delivered' },
    heatmap: '90th percentile per store (minutes)', noSamples: 'no data',
    vsStores: 'above the other stores', vsOwnPast: 'above its own past',
    bottleneckLine: '{store}: {step}, nine in ten within {p90} (usually {usual})',
    products: 'Products', product: 'Product', alerts: 'Stock alerts',
    sorts: { units: 'Units', gmv_fen: 'GMV', refund_rate: 'Refund rate', closed_s: 'Hours closed' },
    funnel: 'Order funnel', funnelIntro: 'What became of the orders placed in the range.',
    stages: { placed: 'Placed', paid: 'Paid', prepared: 'Ready / shipped', collected: 'Collected / delivered', kept: 'Not refunded' },
    losses: { lost_unpaid: 'Cancelled unpaid', lost_expired: 'Expired uncollected', lost_refunded: 'Refunded in full' },
    share: '{share}% of placed', duration: { d: '{n} d', h: '{n} h', m: '{n} min', lessThanMinute: 'under a minute' },
    failed: 'Could not load the report: {message}', network: 'Cannot reach the server; check the network and retry.',
  },
}

export default { 'zh-CN': zh, en }
