// The Coupons page's texts, merged into the messages when its chunk loads (CouponsPage.vue).
const zh = {
  coupons: {
    title: '优惠券与积分',
    create: '新建优惠券', grant: '发放积分', refresh: '刷新',
    name: '名称', kind: '类型', value: '优惠', validity: '有效期', issued: '已领 / 总量', perUser: '每人限领',
    active: '可领取', actions: '操作', open: '开放领取', close: '停止领取', more: '加载更多',
    kinds: { fixed: '立减券', threshold: '满减券', percent: '折扣券', voucher: '提货券（免费一件）' },
    amount: '减免金额（元）', minSpend: '使用门槛（元）', percentOff: '折扣（减免 %）', cap: '最多减（元）',
    skuId: '商品规格 ID', validDays: '领取后有效天数', totalLimit: '发放总量（空为不限）', perUserLimit: '每人限领',
    values: {
      fixed: '减 {amount}', threshold: '满 {min} 减 {amount}', percent: '减 {percent}%', percentCap: '减 {percent}%，最多 {cap}',
      voucher: '规格 #{sku} 免费一件',
    },
    days: '领取后 {n} 天', until: '至 {time}', unlimited: '不限',
    channels: '发放渠道', pointsCost: '兑换所需积分',
    channelNames: { claim: '顾客领取', new_customer: '新客礼', invitation: '邀请奖励', campaign: '人群活动',
      order_gift: '下单返券', points_exchange: '积分兑换', birthday: '会员生日' },
    created: '已创建「{name}」', opened: '「{name}」已开放领取', closed: '「{name}」已停止领取（已领的券不受影响）',
    userId: '顾客 ID', points: '积分', note: '备注', granted: '已向顾客 #{user} 发放 {points} 积分',
    save: '保存', cancel: '取消',
    invalid: {
      name: '请填写名称（最多 64 字）', amount: '请填写减免金额', minSpend: '满减券的门槛须高于减免金额',
      percentOff: '折扣为 1–99 的整数', cap: '最多减的金额不正确', sku: '提货券需要商品规格 ID',
      validDays: '有效天数至少 1 天', user: '请填写顾客 ID', points: '积分为正整数',
      channels: '至少选择一个发放渠道', pointsCost: '积分兑换的券须填写所需积分',
    },
    failed: '操作失败：{message}',
  },
}

const en: typeof zh = {
  coupons: {
    title: 'Coupons and points',
    create: 'New coupon', grant: 'Give points', refresh: 'Refresh',
    name: 'Name', kind: 'Kind', value: 'Takes off', validity: 'Valid', issued: 'Claimed / total', perUser: 'Per shopper',
    active: 'Open', actions: 'Actions', open: 'Open to claims', close: 'Stop claims', more: 'Load more',
    kinds: { fixed: 'Fixed amount', threshold: 'Spend-and-save', percent: 'Percent off', voucher: 'Voucher (one unit free)' },
    amount: 'Amount off (¥)', minSpend: 'Minimum spend (¥)', percentOff: 'Percent off', cap: 'At most (¥)',
    skuId: 'SKU id', validDays: 'Days valid after claiming', totalLimit: 'Total (empty: no limit)', perUserLimit: 'Per shopper',
    values: {
      fixed: '{amount} off', threshold: '{amount} off {min}', percent: '{percent}% off', percentCap: '{percent}% off, at most {cap}',
      voucher: 'One unit of SKU #{sku} free',
    },
    days: '{n} days after claiming', until: 'until {time}', unlimited: 'no limit',
    channels: 'Given by', pointsCost: 'Points it costs',
    channelNames: { claim: 'Claimed by shoppers', new_customer: 'Welcome gift', invitation: 'Invitation reward',
      campaign: 'Segment campaign', order_gift: 'After an order', points_exchange: 'Exchange for points',
      birthday: 'Member birthday' },
    created: 'Created “{name}”', opened: '“{name}” is open to claims', closed: '“{name}” no longer takes claims (claimed coupons stay)',
    userId: 'Shopper id', points: 'Points', note: 'Note', granted: 'Gave shopper #{user} {points} points',
    save: 'Save', cancel: 'Cancel',
    invalid: {
      name: 'Give a name (at most 64 characters)', amount: 'Give the amount off', minSpend: 'The minimum spend must be above the amount off',
      percentOff: 'Percent off is 1–99', cap: 'The cap is not a valid amount', sku: 'A voucher needs its SKU id',
      validDays: 'At least 1 day', user: 'Give the shopper id', points: 'Points are a positive whole number',
      channels: 'Choose at least one way to give it', pointsCost: 'A coupon for points needs its price in points',
    },
    failed: 'That failed: {message}',
  },
}

export default { 'zh-CN': zh, en }
